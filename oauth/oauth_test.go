package oauth

import "testing"

func TestErrorCodesAreUnique(t *testing.T) {
	seen := map[ErrorCode]bool{}
	for _, c := range ErrorCodes {
		if seen[c] {
			t.Errorf("%s listed twice", c)
		}
		seen[c] = true
	}
	for _, c := range TokenErrorCodes {
		if !seen[c] {
			t.Errorf("token error %s is not in ErrorCodes", c)
		}
	}
}

func TestRegistered(t *testing.T) {
	if !Registered("invalid_grant") || !Registered("temporarily_unavailable") {
		t.Error("RFC codes not registered")
	}
	if Registered("unknown_grant") || Registered("") {
		t.Error("a non-RFC code counted as registered")
	}
}

func TestUserScopes(t *testing.T) {
	for _, s := range UserScopes() {
		if !IsUserScope(s) {
			t.Errorf("%s in UserScopes but not IsUserScope", s)
		}
	}
	if IsUserScope("api.read") {
		t.Error("api.read is an API scope")
	}
	a := UserScopes()
	a[0] = "changed"
	if UserScopes()[0] != ScopeOpenID {
		t.Error("UserScopes shares its slice")
	}
}
