package verifier

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadPolicy: ReadPolicy never panics, and a policy it returns is never the zero Policy
// and carries only well-formed pins (a class with a vk file whose hash is pinned was checked).
func FuzzReadPolicy(f *testing.F) {
	b, err := os.ReadFile(filepath.Join(vectors, "receipt-v1.policy.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"classes": [{"name": "small", "vkHash": "0x0000000000000000000000000000000000000000000000000000000000000001"}]}`))
	f.Add([]byte(`{"allowUnconfirmed": true}`))
	f.Add([]byte(`{"classes": [{"name": "small", "vkHash": "0x12"}]}`))
	f.Add([]byte(`{"minInstance": 2}`))
	dir, err := filepath.Abs(vectors)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ReadPolicy(data, dir)
		if err != nil {
			return
		}
		if p.IsZero() {
			t.Fatal("ReadPolicy returned the zero policy")
		}
		for _, c := range p.Classes {
			if c.Class == nil {
				t.Fatal("a class without its definition")
			}
			if c.VK != nil && c.VKHash != [32]byte{} {
				if h, err := KeyHash(c.VK); err != nil || h != c.VKHash {
					t.Fatal("a vk file that is not its pinned hash's")
				}
			}
		}
	})
}
