package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/smsgw/smsgw/sms"
)

// ConformancePrefix is where check-backend writes its test objects.
const ConformancePrefix = "conformance/"

// ConformanceCheck is the outcome of one Object Lock property test.
type ConformanceCheck struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Skipped bool   `json:"skipped,omitempty"`
	Detail  string `json:"detail"`
}

func (c ConformanceCheck) String() string {
	verdict := "FAIL"
	switch {
	case c.Skipped:
		verdict = "SKIP"
	case c.OK:
		verdict = "PASS"
	}
	return fmt.Sprintf("%s  %s: %s", verdict, c.Name, c.Detail)
}

// Conformance check names, in the order they run.
const (
	CheckLockEnabled   = "bucket has Object Lock and versioning enabled"
	CheckPutIfAbsent   = "a second put-if-absent (If-None-Match: *) of a key is refused"
	CheckNoDelete      = "a COMPLIANCE-locked version cannot be deleted, even with governance bypass"
	CheckNoOverwrite   = "an overwrite leaves the locked version's bytes and lock unchanged"
	CheckNoShorten     = "COMPLIANCE retention cannot be shortened"
	CheckNoGovernance  = "COMPLIANCE mode cannot be changed to GOVERNANCE"
	CheckLegalHold     = "a legal hold blocks deletion of a version"
	CheckDeleteMarker  = "a delete marker leaves the locked version readable"
	conformanceContent = "smsgw check-backend test object; locked briefly, then expires\n"
)

// CheckConformance runs the Object Lock conformance suite against the
// bucket, with small test objects under conformance/<ULID>/ that are
// locked for retain (keep it short: they cannot be removed before it
// ends). Every property the archive relies on is one check; a bucket
// without Object Lock fails the first and skips the rest.
func (s *S3Store) CheckConformance(ctx context.Context, retain time.Duration) []ConformanceCheck {
	var out []ConformanceCheck
	add := func(name string, ok bool, format string, args ...any) {
		out = append(out, ConformanceCheck{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}
	skipRest := func(why string, names ...string) []ConformanceCheck {
		for _, n := range names {
			out = append(out, ConformanceCheck{Name: n, Skipped: true, Detail: why})
		}
		return out
	}
	rest := []string{CheckPutIfAbsent, CheckNoDelete, CheckNoOverwrite, CheckNoShorten, CheckNoGovernance, CheckLegalHold, CheckDeleteMarker}

	if err := s.Check(ctx); err != nil {
		add(CheckLockEnabled, false, "%v", err)
		return skipRest("the bucket has no Object Lock", rest...)
	}
	vc, err := s.c.GetBucketVersioning(ctx, s.cfg.Bucket)
	if err != nil || !vc.Enabled() {
		add(CheckLockEnabled, false, "Object Lock is enabled but versioning is not (%v)", err)
		return skipRest("versioning is off", rest...)
	}
	add(CheckLockEnabled, true, "Object Lock enabled, versioning %s", vc.Status)

	base := path.Join(strings.TrimSuffix(ConformancePrefix, "/"), sms.NewULID(time.Now()))
	lockedKey, heldKey := base+"/locked", base+"/held"
	until := time.Now().Add(retain).UTC().Truncate(time.Second)
	data := []byte(conformanceContent)

	// put-if-absent
	oi, err := s.Put(ctx, lockedKey, data, until)
	if err != nil {
		add(CheckPutIfAbsent, false, "writing a COMPLIANCE-locked test object failed: %v", err)
		return skipRest("no locked test object", rest[1:]...)
	}
	v1 := oi.VersionID
	if _, err := s.Put(ctx, lockedKey, []byte("second"), until); errors.Is(err, ErrExists) {
		add(CheckPutIfAbsent, true, "refused with 412 Precondition Failed")
	} else {
		add(CheckPutIfAbsent, false, "a second put-if-absent returned %v; segments could be replaced by a racing writer", err)
		s.cleanupVersions(ctx, lockedKey, v1)
	}

	// delete
	errPlain := s.c.RemoveObject(ctx, s.cfg.Bucket, s.key(lockedKey), minio.RemoveObjectOptions{VersionID: v1})
	errBypass := s.c.RemoveObject(ctx, s.cfg.Bucket, s.key(lockedKey), minio.RemoveObjectOptions{VersionID: v1, GovernanceBypass: true})
	if errPlain != nil && errBypass != nil {
		add(CheckNoDelete, true, "refused (%s)", errCode(errBypass))
	} else {
		add(CheckNoDelete, false, "the locked version was deleted (plain: %v, with bypass: %v)", errPlain, errBypass)
		return skipRest("the locked test object is gone", rest[2:]...)
	}

	// overwrite
	other := []byte("overwritten")
	info, err := s.c.PutObject(ctx, s.cfg.Bucket, s.key(lockedKey), bytes.NewReader(other), int64(len(other)), minio.PutObjectOptions{SendContentMd5: true})
	got, gerr := s.GetVersion(ctx, lockedKey, v1)
	mode, ru, _, rerr := s.Retention(ctx, lockedKey, v1)
	switch {
	case gerr != nil || !bytes.Equal(got, data):
		add(CheckNoOverwrite, false, "after an overwrite the locked version reads %q (err %v)", got, gerr)
	case rerr != nil || mode != "COMPLIANCE" || ru.Before(until):
		add(CheckNoOverwrite, false, "after an overwrite the locked version's lock is %s until %s (err %v)", mode, ru, rerr)
	case err != nil:
		add(CheckNoOverwrite, true, "the overwrite was refused (%s)", errCode(err))
	default:
		add(CheckNoOverwrite, true, "the overwrite only added version %s (verify reports such versions); the original is unchanged", info.VersionID)
		_ = s.c.RemoveObject(ctx, s.cfg.Bucket, s.key(lockedKey), minio.RemoveObjectOptions{VersionID: info.VersionID})
	}

	// shorten
	comp, gov := minio.Compliance, minio.Governance
	shorter := until.Add(-retain / 2)
	err = s.c.PutObjectRetention(ctx, s.cfg.Bucket, s.key(lockedKey), minio.PutObjectRetentionOptions{VersionID: v1, Mode: &comp, RetainUntilDate: &shorter})
	mode, ru, _, _ = s.Retention(ctx, lockedKey, v1)
	if err != nil && mode == "COMPLIANCE" && !ru.Before(until) {
		add(CheckNoShorten, true, "refused (%s)", errCode(err))
	} else {
		add(CheckNoShorten, false, "shortening was accepted (err %v); the lock is now %s until %s", err, mode, ru)
	}

	// governance
	err = s.c.PutObjectRetention(ctx, s.cfg.Bucket, s.key(lockedKey), minio.PutObjectRetentionOptions{VersionID: v1, Mode: &gov, RetainUntilDate: &until, GovernanceBypass: true})
	mode, _, _, _ = s.Retention(ctx, lockedKey, v1)
	if err != nil && mode == "COMPLIANCE" {
		add(CheckNoGovernance, true, "refused (%s)", errCode(err))
	} else {
		add(CheckNoGovernance, false, "the change was accepted (err %v); the mode is now %q", err, mode)
	}

	// legal hold: an object with no retention, only a hold.
	on, off := minio.LegalHoldEnabled, minio.LegalHoldDisabled
	hinfo, err := s.c.PutObject(ctx, s.cfg.Bucket, s.key(heldKey), bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{SendContentMd5: true, LegalHold: on})
	if err != nil {
		add(CheckLegalHold, false, "writing an object with a legal hold failed: %v", err)
	} else {
		e1 := s.c.RemoveObject(ctx, s.cfg.Bucket, s.key(heldKey), minio.RemoveObjectOptions{VersionID: hinfo.VersionID})
		e2 := s.c.RemoveObject(ctx, s.cfg.Bucket, s.key(heldKey), minio.RemoveObjectOptions{VersionID: hinfo.VersionID, GovernanceBypass: true})
		if e1 != nil && e2 != nil {
			add(CheckLegalHold, true, "deletion refused while held (%s)", errCode(e2))
		} else {
			add(CheckLegalHold, false, "a held version was deleted (plain: %v, with bypass: %v)", e1, e2)
		}
		// Release the hold and remove the test object.
		if err := s.c.PutObjectLegalHold(ctx, s.cfg.Bucket, s.key(heldKey), minio.PutObjectLegalHoldOptions{VersionID: hinfo.VersionID, Status: &off}); err == nil {
			_ = s.c.RemoveObject(ctx, s.cfg.Bucket, s.key(heldKey), minio.RemoveObjectOptions{VersionID: hinfo.VersionID})
		}
	}

	// delete marker
	if err := s.c.RemoveObject(ctx, s.cfg.Bucket, s.key(lockedKey), minio.RemoveObjectOptions{}); err != nil {
		add(CheckDeleteMarker, true, "a delete without version was refused (%s)", errCode(err))
	} else if got, err := s.GetVersion(ctx, lockedKey, v1); err != nil || !bytes.Equal(got, data) {
		add(CheckDeleteMarker, false, "after a delete marker the locked version reads %q (err %v)", got, err)
	} else {
		add(CheckDeleteMarker, true, "the marker hides the object from plain reads only (verify reports markers); the locked version is readable")
	}
	s.cleanupVersions(ctx, lockedKey, v1)
	return out
}

// cleanupVersions removes every version and delete marker of key except
// keep (locked; it expires by itself).
func (s *S3Store) cleanupVersions(ctx context.Context, key, keep string) {
	_ = s.ListVersions(ctx, key, func(ov ObjectVersion) error {
		if ov.Key == key && ov.VersionID != keep {
			_ = s.c.RemoveObject(ctx, s.cfg.Bucket, s.key(key), minio.RemoveObjectOptions{VersionID: ov.VersionID})
		}
		return nil
	})
}

func errCode(err error) string {
	var er minio.ErrorResponse
	if errors.As(err, &er) && er.Code != "" {
		if er.Message != "" {
			return er.Code + ": " + er.Message
		}
		return er.Code
	}
	return err.Error()
}

// WriteConformance prints the checks, one per line, and a verdict.
func WriteConformance(w io.Writer, bucket string, checks []ConformanceCheck) bool {
	ok := true
	for _, c := range checks {
		fmt.Fprintln(w, c)
		if !c.OK {
			ok = false
		}
	}
	if ok {
		fmt.Fprintf(w, "bucket %s conforms: it can hold the archive\n", bucket)
	} else {
		fmt.Fprintf(w, "bucket %s does NOT conform: do not use it for the archive\n", bucket)
	}
	return ok
}

// Bucket names the store's bucket (for reports).
func (s *S3Store) Bucket() string { return s.cfg.Bucket }
