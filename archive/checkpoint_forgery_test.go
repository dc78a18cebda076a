package archive

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"
)

// putCheckpoint signs c with s and stores it the way the checkpointer does.
func (l *testLog) putCheckpoint(s *Signer, c Checkpoint) string {
	l.t.Helper()
	msg, err := s.Sign(c)
	if err != nil {
		l.t.Fatal(err)
	}
	key := NewCheckpointKey(c.Time)
	if _, err := l.st.Put(context.Background(), key, msg, c.Time.Add(time.Hour)); err != nil {
		l.t.Fatal(err)
	}
	return key
}

// onlyProblem fails unless rep has exactly one problem, with this code on
// this object, whose detail says why.
func onlyProblem(t *testing.T, rep *Report, code, object, detail string) {
	t.Helper()
	wantProblem(t, rep, code, object, -1, detail)
	if len(rep.Problems) != 1 {
		t.Errorf("%d problems, want exactly the one %s: %v", len(rep.Problems), code, rep.Problems)
	}
}

// A checkpoint signed by the trusted key but naming another log (origin)
// is not a checkpoint of this log: reported as checkpoint_signature with
// the reason, and not counted.
func TestVerifyCheckpointWrongOrigin(t *testing.T) {
	st, err := NewLocalStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := buildLog(t, st)
	k := l.putCheckpoint(l.signer, Checkpoint{Origin: "other.example/log", Size: l.tree.Size(), Root: l.tree.Root(), Time: l.tick()})

	rep := l.verify()
	onlyProblem(t, rep, "checkpoint_signature", k, `origin "other.example/log" is not the name of the key that signed it`)
	if rep.Checkpoints != 3 || rep.SignedSize != 22 {
		t.Errorf("checkpoints %d signing size %d, want the 3 honest ones signing 22", rep.Checkpoints, rep.SignedSize)
	}

	// The same through OpenCheckpoint, the function bundles use too.
	msg, _ := l.signer.Sign(Checkpoint{Origin: "other.example/log", Size: 1, Root: sha256.Sum256(nil), Time: time.Now()})
	vs, _ := Verifiers(l.signer.VerifierKey())
	if _, err := OpenCheckpoint(msg, vs); err == nil || !strings.Contains(err.Error(), "origin") {
		t.Errorf("OpenCheckpoint of a checkpoint naming another origin: %v, want an origin error", err)
	}
}

// Checkpoints signed by a key verify does not trust — same name, or
// another — are reported one by one (checkpoint_signature, "unknown key")
// and never counted as signed: not in Checkpoints, not in SignedSize, and
// what they claim (a longer log, another root) is not checked against the
// log as if it had been signed.
func TestVerifyForgedCheckpointsNotCounted(t *testing.T) {
	for _, tc := range []struct {
		name string
		// forge returns the checkpoint the forger signs, given the log.
		forge func(l *testLog) Checkpoint
		// sameName: the forging key has the honest key's name.
		sameName bool
	}{
		{"same size and root, same key name", func(l *testLog) Checkpoint {
			return Checkpoint{Origin: l.signer.Name(), Size: l.tree.Size(), Root: l.tree.Root(), Time: l.tick()}
		}, true},
		{"a longer log, same key name", func(l *testLog) Checkpoint {
			return Checkpoint{Origin: l.signer.Name(), Size: l.tree.Size() + 8, Root: sha256.Sum256([]byte("forged")), Time: l.tick()}
		}, true},
		{"another root, another key name", func(l *testLog) Checkpoint {
			return Checkpoint{Origin: "forger.example/log", Size: l.tree.Size(), Root: sha256.Sum256([]byte("forged")), Time: l.tick()}
		}, false},
		{"an empty log", func(l *testLog) Checkpoint {
			return Checkpoint{Origin: l.signer.Name(), Size: 0, Root: sha256.Sum256(nil), Time: l.tick()}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := NewLocalStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			l := buildLog(t, st)
			c := tc.forge(l)
			name := c.Origin
			if tc.sameName {
				name = l.signer.Name()
			}
			k := l.putCheckpoint(testSigner(t, name), c)

			rep := l.verify()
			onlyProblem(t, rep, "checkpoint_signature", k, "unknown key")
			if rep.Checkpoints != 3 {
				t.Errorf("Checkpoints = %d, want 3: the forged one is not a signed checkpoint", rep.Checkpoints)
			}
			if rep.SignedSize != 22 {
				t.Errorf("SignedSize = %d, want 22 (the latest honest checkpoint)", rep.SignedSize)
			}
		})
	}
}

// Only forged checkpoints and records: nothing is proven signed.
func TestVerifyOnlyForgedCheckpoints(t *testing.T) {
	st, err := NewLocalStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := newTestLog(t, st)
	l.segment(sampleRecords(3))
	k := l.putCheckpoint(testSigner(t, l.signer.Name()), Checkpoint{Origin: l.signer.Name(), Size: l.tree.Size(), Root: l.tree.Root(), Time: l.tick()})
	rep := l.verify()
	wantProblem(t, rep, "checkpoint_signature", k, -1, "unknown key")
	wantProblem(t, rep, "no_checkpoint", "", -1, "holds 3 records but no valid signed checkpoint")
	if rep.Checkpoints != 0 || rep.SignedSize != 0 {
		t.Errorf("Checkpoints %d SignedSize %d, want 0 and 0", rep.Checkpoints, rep.SignedSize)
	}
}
