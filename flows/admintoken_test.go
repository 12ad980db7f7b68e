package flows

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckAdminToken(t *testing.T) {
	const base = "issuer: http://127.0.0.1:9000\nclients:\n  confidential: {client_id: c, client_secret: s}\n"
	for _, tc := range []struct {
		name, profile, env string
		field, mentions    string // field "" means no error
	}{
		{"clock without the variable", base + "features: {admin_clock: true}\nadmin: {token_env: GB_TEST_ADMIN}\n", "", "features.admin_clock", "GB_TEST_ADMIN"},
		{"rotation without the variable", base + "features: {key_rotation: true}\nadmin: {token_env: GB_TEST_ADMIN}\n", "", "features.key_rotation", "GB_TEST_ADMIN"},
		{"clock with the variable", base + "features: {admin_clock: true}\nadmin: {token_env: GB_TEST_ADMIN}\n", "s3cret", "", ""},
		{"clock with a literal token", base + "features: {admin_clock: true}\nadmin: {token: s3cret}\n", "", "", ""},
		{"no admin feature, no token", base + "admin: {token_env: GB_TEST_ADMIN}\n", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GB_TEST_ADMIN", tc.env)
			target, err := ParseTarget([]byte(tc.profile))
			if err != nil {
				t.Fatal(err)
			}
			err = target.CheckAdminToken()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("CheckAdminToken: %v", err)
				}
				return
			}
			var pe *ProfileError
			if !errors.As(err, &pe) || pe.Field != tc.field || !strings.Contains(err.Error(), tc.mentions) {
				t.Fatalf("CheckAdminToken = %v, want a profile error on %s naming %s", err, tc.field, tc.mentions)
			}
		})
	}
}
