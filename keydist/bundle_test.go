package keydist

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlsticket/tlsticket/internal/testkit/secretscan"
)

func TestContentsRoundTrip(t *testing.T) {
	keys := testEntries(t, "contents", 3)
	keys[1].Announce = keys[1].Announce.Add(123456789 * time.Nanosecond)
	c := mustContents(t, keys)
	got, ok := parseContents(c)
	if !ok {
		t.Fatal("parseContents failed")
	}
	if diff := cmp.Diff(keys, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if again := mustContents(t, got); !bytes.Equal(again, c) {
		t.Errorf("re-encoding differs")
	}
	for n := range len(c) {
		if _, ok := parseContents(c[:n]); ok {
			t.Fatalf("prefix of %d bytes parsed", n)
		}
	}
}

// TestBundleRedacted checks that no fmt verb prints a bundle's secrets, and
// that Clear drops them.
func TestBundleRedacted(t *testing.T) {
	keys := testEntries(t, "redacted", 2)
	b := Bundle{Fleet: "edge", Epoch: 3, Keys: keys}
	var forbidden []string
	for _, k := range keys {
		forbidden = append(forbidden, secretscan.Forms(k.Secret)...)
	}
	secretscan.Check(t, "b", b, forbidden)
	secretscan.Check(t, "&b", &b, forbidden)
	b.Clear()
	for _, k := range b.Keys {
		if k.Secret != nil {
			t.Error("Clear left a secret")
		}
	}
}
