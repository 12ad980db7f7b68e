package mockprovider

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// Values of Config.Login.
const (
	LoginUsers   = "users"
	LoginAnyUser = "any_user"
)

// maxAdHocUsername bounds a username typed in under login: any_user.
const maxAdHocUsername = 256

// adHocUser is the user a login: any_user page signs in for a username that
// is not configured: subject the username (or the claims' "sub"), claims
// from the page's JSON field. It lives in the session and the tokens made
// from it, never in the configured users, so typing names costs no memory
// past the session's life.
func adHocUser(username, claimsJSON string) (*User, error) {
	username = strings.TrimSpace(username)
	if username == "" || len(username) > maxAdHocUsername || !utf8.ValidString(username) {
		return nil, errors.New("Type a username (at most 256 characters).")
	}
	u := &User{Username: username, Subject: username}
	if strings.TrimSpace(claimsJSON) != "" {
		dec := json.NewDecoder(bytes.NewReader([]byte(claimsJSON)))
		dec.UseNumber()
		var claims map[string]any
		if err := dec.Decode(&claims); err != nil || claims == nil || dec.More() {
			return nil, errors.New(`Claims must be one JSON object, such as {"roles": ["admin"]}.`)
		}
		if sub, ok := claims["sub"]; ok {
			s, isString := sub.(string)
			if !isString || s == "" {
				return nil, errors.New(`The "sub" claim must be a non-empty string.`)
			}
			u.Subject = s
			delete(claims, "sub")
		}
		u.Claims = claims
	}
	if err := prepareUser(u); err != nil {
		return nil, errors.New("Claims: " + err.Error())
	}
	return u, nil
}
