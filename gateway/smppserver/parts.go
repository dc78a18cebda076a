package smppserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/smsgw/smsgw/gateway/smpp"
	"github.com/smsgw/smsgw/sms"
)

// PartStore keeps the parts of concatenated messages durably, so each
// part is answered as soon as it is stored: an ESME that sends the parts
// one after another (window 1) is not held up, and a crash loses nothing
// that was answered. The text is joined, and only then filtered, when the
// last part arrives, or after Config.PartTimeout with what arrived, flagged
// incomplete. Part texts are raw and must be erased (not only deleted)
// once joined.
type PartStore interface {
	// Group creates the group key with meta unless it exists, and returns
	// the group's meta either way (so every part learns the one message id).
	Group(ctx context.Context, key string, meta PartGroup) (PartGroup, error)
	// Put stores part seq of the group; a duplicate part is ignored.
	Put(ctx context.Context, key string, seq int, id sms.MessageID, text string) error
	// Parts returns the stored parts of a group by sequence number.
	Parts(ctx context.Context, key string, id sms.MessageID) (map[int]string, error)
	// Groups lists every open group.
	Groups(ctx context.Context) (map[string]PartGroup, error)
	// Drop erases a group and its parts.
	Drop(ctx context.Context, key string) error
}

// PartGroup describes a concatenated message being collected.
type PartGroup struct {
	ID       sms.MessageID `json:"id"`
	SystemID string        `json:"system_id"`
	Src      string        `json:"src"`
	Dst      string        `json:"dst"`
	Total    int           `json:"total"`
	Receipt  bool          `json:"receipt,omitempty"`
	Created  time.Time     `json:"created"`
}

// groupKey names a group: account, addresses, reference and part count.
func groupKey(systemID, src, dst string, c *smpp.Concat) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%s|%d|%d", systemID, src, dst, c.Ref, c.Total))
	return "g" + hex.EncodeToString(h[:12])
}

// maxParts bounds how many parts a concatenated message may have, from the
// body limit (UCS-2 parts carry 67 characters).
func (s *Server) maxParts() int { return (s.cfg.MaxBodyChars+66)/67 + 1 }

// storePart stores one part and, when it completes its group, joins it. The
// part is answered OK with the message's id once it is stored.
func (s *Server) storePart(ctx context.Context, b *bind, d *smpp.Deliver, c *smpp.Concat, receipt bool) (uint32, string) {
	if int(c.Total) > s.maxParts() {
		return smpp.ESME_RINVMSGLEN, ""
	}
	key := groupKey(b.systemID, d.Src, d.Dst, c)
	g, err := s.cfg.Parts.Group(ctx, key, PartGroup{ID: sms.NewMessageID(), SystemID: b.systemID, Src: d.Src, Dst: d.Dst,
		Total: int(c.Total), Receipt: receipt, Created: time.Now().UTC()})
	if err != nil {
		s.log.Warn("storing a message part failed", "system_id", b.systemID, "err", err)
		return smpp.ESME_RSYSERR, ""
	}
	if err := s.cfg.Parts.Put(ctx, key, int(c.Seq), g.ID, d.Text); err != nil {
		s.log.Warn("storing a message part failed", "system_id", b.systemID, "err", err)
		return smpp.ESME_RSYSERR, ""
	}
	if parts, err := s.cfg.Parts.Parts(ctx, key, g.ID); err == nil && len(parts) >= g.Total {
		s.join(ctx, key, g, parts, false) // on failure the sweeper tries again
	}
	return smpp.ESME_ROK, string(g.ID)
}

// join hands a group's text on (MT to the ingress, or a carrier's MO to its
// handler) under the group's id, then erases the group. It reports whether
// the group is done with.
func (s *Server) join(ctx context.Context, key string, g PartGroup, parts map[int]string, timedOut bool) bool {
	var sb strings.Builder
	for i := 1; i <= g.Total; i++ {
		sb.WriteString(parts[i])
	}
	d := &smpp.Deliver{Src: g.Src, Dst: g.Dst, Text: sb.String(), Parts: len(parts), Incomplete: timedOut && len(parts) < g.Total, ID: string(g.ID)}
	a, ok := s.accounts[g.SystemID]
	if !ok {
		s.log.Error("parts of an account no longer configured are kept", "system_id", g.SystemID, "id", g.ID)
		return false
	}
	var st uint32
	switch {
	case len([]rune(d.Text)) > s.cfg.MaxBodyChars:
		st = smpp.ESME_RINVMSGLEN
	case a.Role == RoleCarrier:
		st = s.handleCarrier(ctx, g.SystemID, d).Status
	default:
		from, _ := sms.ParseNumber("+" + g.Src)
		to, _ := sms.ParseNumber("+" + g.Dst)
		st = s.acceptMT(ctx, g.SystemID, from, to, d, g.Receipt).Status
	}
	if st != smpp.ESME_ROK && retryable(st) {
		s.log.Warn("joining message parts failed; will retry", "system_id", g.SystemID, "id", g.ID, "status", smpp.StatusError(st).Error())
		return false
	}
	if st != smpp.ESME_ROK {
		// Refused for good (opted-out recipient, source not allowed, text
		// too long…) after every part was answered OK: the id the ESME
		// holds ends as failed — its receipt, query_sm and the archive's
		// event say so — and the parts are erased.
		s.log.Warn("multipart message refused after its parts were acknowledged; reported as failed", "system_id", g.SystemID, "id", g.ID, "status", smpp.StatusError(st).Error())
		if s.cfg.OnRejected != nil {
			from, _ := sms.ParseNumber("+" + g.Src)
			if err := s.cfg.OnRejected(ctx, g.SystemID, g.ID, from, rejectCode(st)); err != nil {
				s.log.Warn("reporting a refused multipart message failed; will retry", "id", g.ID, "err", err)
				return false
			}
		}
	}
	if err := s.cfg.Parts.Drop(ctx, key); err != nil {
		s.log.Warn("erasing joined message parts failed; will retry", "id", g.ID, "err", err)
	}
	return true
}

// retryable reports whether a join that failed with st may succeed later
// (the store or the bus was unavailable, a limit was hit).
func retryable(st uint32) bool {
	switch st {
	case smpp.ESME_RSYSERR, smpp.ESME_RTHROTTLED, smpp.ESME_RMSGQFUL:
		return true
	}
	return false
}

// rejectCode names why a joined text was refused, for its failed event.
func rejectCode(st uint32) string {
	switch st {
	case smpp.ESME_RINVMSGLEN:
		return "body_too_long"
	case sms.OptedOut.SMPPStatus():
		return "recipient_opted_out"
	case sms.Forbidden.SMPPStatus():
		return "source_not_allowed"
	}
	return fmt.Sprintf("refused_%#04x", st)
}

// sweep joins the groups that are complete (a failed join) or older than
// the part timeout (joined as far as they got, flagged incomplete).
func (s *Server) sweep(ctx context.Context) {
	groups, err := s.cfg.Parts.Groups(ctx)
	if err != nil {
		s.log.Warn("listing open message part groups failed", "err", err)
		return
	}
	for key, g := range groups {
		parts, err := s.cfg.Parts.Parts(ctx, key, g.ID)
		if err != nil {
			continue
		}
		old := time.Since(g.Created) > s.cfg.PartTimeout
		if len(parts) >= g.Total || old {
			if s.join(ctx, key, g, parts, old) && old && len(parts) < g.Total {
				s.log.Info("incomplete multipart message joined after the part timeout", "id", g.ID, "parts", len(parts), "of", g.Total)
			}
		}
	}
}

// sweeper runs sweep until ctx ends.
func (s *Server) sweeper(ctx context.Context) {
	t := time.NewTicker(max(s.cfg.PartTimeout/10, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sweep(ctx)
		}
	}
}
