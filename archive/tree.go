package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Tree is the right edge of an RFC 6962 Merkle tree: the roots of the
// perfect subtrees that make up its leaves, left to right (the binary
// decomposition of Size). It takes leaves in order and gives the tree hash
// at the current size, in O(log n) memory. The zero Tree is empty.
type Tree struct {
	size  int64
	stack [][32]byte
}

// Size is the number of leaves appended.
func (t *Tree) Size() int64 { return t.size }

// Append adds the next leaf hash.
func (t *Tree) Append(leaf [32]byte) {
	h := leaf
	for s := t.size; s&1 == 1; s >>= 1 {
		h = nodeHash(t.stack[len(t.stack)-1], h)
		t.stack = t.stack[:len(t.stack)-1]
	}
	t.stack = append(t.stack, h)
	t.size++
}

// Root is the RFC 6962 tree hash of the leaves so far (SHA-256 of the
// empty string for none).
func (t *Tree) Root() [32]byte {
	if len(t.stack) == 0 {
		return sha256.Sum256(nil)
	}
	h := t.stack[len(t.stack)-1]
	for i := len(t.stack) - 2; i >= 0; i-- {
		h = nodeHash(t.stack[i], h)
	}
	return h
}

// Clone returns an independent copy.
func (t *Tree) Clone() Tree {
	return Tree{size: t.size, stack: append([][32]byte(nil), t.stack...)}
}

type treeJSON struct {
	Size  int64    `json:"size"`
	Stack []string `json:"stack"`
}

// MarshalJSON stores the size and the subtree roots.
func (t Tree) MarshalJSON() ([]byte, error) {
	v := treeJSON{Size: t.size, Stack: make([]string, len(t.stack))}
	for i, h := range t.stack {
		v.Stack[i] = hex.EncodeToString(h[:])
	}
	return json.Marshal(v)
}

// UnmarshalJSON restores a Tree and checks that the number of subtree
// roots fits the size.
func (t *Tree) UnmarshalJSON(b []byte) error {
	var v treeJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Size < 0 || bitCount(v.Size) != len(v.Stack) {
		return fmt.Errorf("tree state: %d subtree roots for size %d", len(v.Stack), v.Size)
	}
	t.size, t.stack = v.Size, make([][32]byte, len(v.Stack))
	for i, s := range v.Stack {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != 32 {
			return fmt.Errorf("tree state: subtree root %d is not a hash", i)
		}
		copy(t.stack[i][:], b)
	}
	return nil
}

func bitCount(n int64) int {
	c := 0
	for ; n > 0; n &= n - 1 {
		c++
	}
	return c
}
