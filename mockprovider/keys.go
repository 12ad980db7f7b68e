package mockprovider

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// signingKey is one key pair with its signers built once: jose.Signer is
// safe for concurrent use, so the hot path never parses or rebuilds a key.
type signingKey struct {
	kid    string
	alg    jose.SignatureAlgorithm
	public jose.JSONWebKey
	// private is only ever published by the jwks_leaks_private defect.
	private jose.JSONWebKey
	// access signs RFC 9068 access tokens (typ at+jwt); id signs ID tokens (typ JWT).
	access jose.Signer
	id     jose.Signer
	// retireAt is when the last token this key signed expires; zero while
	// the key is current. The JWKS keeps a retired key until then.
	retireAt time.Time
}

// keySet holds the current signing key and the retired keys still published.
type keySet struct {
	alg     jose.SignatureAlgorithm
	current atomic.Pointer[signingKey]

	mu      sync.Mutex
	retired []*signingKey
	// pruned is set once a retired key has left the set (for the
	// rotation_prune_drops_current defect).
	pruned bool
}

func newKeySet(alg string, initial crypto.Signer) (*keySet, error) {
	ks := &keySet{alg: jose.SignatureAlgorithm(alg)}
	key := initial
	if key == nil {
		var err error
		if key, err = generateKey(ks.alg); err != nil {
			return nil, err
		}
	}
	sk, err := newSigningKey(ks.alg, key)
	if err != nil {
		return nil, err
	}
	ks.current.Store(sk)
	return ks, nil
}

func generateKey(alg jose.SignatureAlgorithm) (crypto.Signer, error) {
	switch alg {
	case jose.RS256:
		return rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return nil, fmt.Errorf("mockprovider: unsupported signing algorithm %q", alg)
}

func newSigningKey(alg jose.SignatureAlgorithm, key crypto.Signer) (*signingKey, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if alg != jose.RS256 {
			return nil, fmt.Errorf("mockprovider: an RSA key cannot sign %s", alg)
		}
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("mockprovider: RSA key of %d bits is under 2048", k.N.BitLen())
		}
	case *ecdsa.PrivateKey:
		if alg != jose.ES256 || k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("mockprovider: an ECDSA key (curve %s) cannot sign %s", k.Curve.Params().Name, alg)
		}
	default:
		return nil, fmt.Errorf("mockprovider: unsupported signing key type %T", key)
	}
	public := jose.JSONWebKey{Key: key.Public(), Algorithm: string(alg), Use: "sig"}
	thumb, err := public.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("mockprovider: key thumbprint: %w", err)
	}
	public.KeyID = base64.RawURLEncoding.EncodeToString(thumb[:12])
	private := jose.JSONWebKey{Key: key, KeyID: public.KeyID, Algorithm: string(alg), Use: "sig"}
	access, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: private}, (&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		return nil, fmt.Errorf("mockprovider: access-token signer: %w", err)
	}
	id, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: private}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("mockprovider: ID-token signer: %w", err)
	}
	return &signingKey{kid: public.KeyID, alg: alg, public: public, private: private, access: access, id: id}, nil
}

// signer returns the key to sign with now.
func (ks *keySet) signer() *signingKey { return ks.current.Load() }

// rotate makes a fresh key current. The old key stays published until
// retireAt, when every token it signed has expired.
func (ks *keySet) rotate(retireAt time.Time) (*signingKey, error) {
	key, err := generateKey(ks.alg)
	if err != nil {
		return nil, err
	}
	sk, err := newSigningKey(ks.alg, key)
	if err != nil {
		return nil, err
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	old := ks.current.Swap(sk)
	retiredCopy := *old
	retiredCopy.retireAt = retireAt
	ks.retired = append(ks.retired, &retiredCopy)
	return sk, nil
}

// published returns the public keys to serve at now: the current one first,
// then retired keys whose tokens may still be alive. Retired keys past their
// time are dropped; dropCurrentAfterPrune (the rotation_prune_drops_current
// defect) leaves the current key out too once one was.
func (ks *keySet) published(now time.Time, leakPrivate, dropCurrentAfterPrune bool) []jose.JSONWebKey {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	keep := ks.retired[:0]
	for _, k := range ks.retired {
		if now.Before(k.retireAt) {
			keep = append(keep, k)
		}
	}
	ks.pruned = ks.pruned || len(keep) < len(ks.retired)
	clear(ks.retired[len(keep):])
	ks.retired = keep
	pick := func(k *signingKey) jose.JSONWebKey {
		if leakPrivate {
			return k.private
		}
		return k.public
	}
	keys := []jose.JSONWebKey{pick(ks.current.Load())}
	if dropCurrentAfterPrune && ks.pruned {
		keys = keys[:0]
	}
	for i := len(ks.retired) - 1; i >= 0; i-- {
		keys = append(keys, pick(ks.retired[i]))
	}
	return keys
}

// jwksJSON renders the published keys as a JWK set (public members only).
func (ks *keySet) jwksJSON(now time.Time, leakPrivate, dropCurrentAfterPrune bool) ([]byte, error) {
	return json.Marshal(jose.JSONWebKeySet{Keys: ks.published(now, leakPrivate, dropCurrentAfterPrune)})
}
