#!/usr/bin/env bash
# Guarantee mutations: each line of the table below breaks one line that a
# guarantee of ../shared/DESIGN.md rests on, runs the tests that should
# notice, and expects them to FAIL. A mutation that survives (tests pass)
# is a guarantee no test holds. The file is restored after each run.
#
# usage: scripts/mutations.sh [NAME_FILTER]     (exit 1 if any mutation survives)
set -uo pipefail
cd "$(dirname "$0")/.."
export SMSGW_MINIO="${SMSGW_MINIO:-$PWD/.bin/minio}"

# name | file | perl search (regex, must match exactly once) | replacement | go test arguments
MUTATIONS=(
  "archive-before-deliver|pipeline/archive_stage.go|if segs\[j\] == \"\" \{|if false \&\& segs[j] == \"\" {|./e2e/ -run TestArchiveBeforeDeliverWhileStoreDown"
  "settle-publish-before-ack|pipeline/settle.go|case failed\[i\]:\n\t\t\t_ = in.Nak\(time.Second\)|case false:|./pipeline/ -run TestSettleOrder"
  "settle-erase|pipeline/settle.go|if !failed\[i\] \&\& r.Erase \&\& r.Outcome != Retry \{|if false {|./e2e/ -run TestIngressSecureEraseInBlockFile"
  "keep-fetched-in-progress|internal/bus/consume.go|_ = m.InProgress\(\)|_ = m|./pipeline/ -run TestSlowHandlerGetsEachInputOnce"
  "unanswered-submit-resent|gateway/smpp/client.go|if errors.Is\(err, ErrUnanswered\) \{|if false \&\& errors.Is(err, ErrUnanswered) {|./gateway/smpp/ -run TestUnansweredSubmitIsNotResent"
  "mt-resume-ignores-sent|pipeline/mt.go|case \"\", submitSent:|case \"never\":|./pipeline/ -run TestMTSubmitRecords"
  "mt-intent-skipped|pipeline/mt.go|_, err := s.ids.Put\(ctx, submitKey\(m.ID\), intent\)|_, err := s.ids.Put(ctx, submitKey(m.ID)+\"x\", intent)|./e2e/ -run TestFaults/kill9"
  "idempotency-scope|gateway/api/messages.go|AcceptOnce\(r.Context\(\), m, tok.EmployeeID, key, fp\)|AcceptOnce(r.Context(), m, \"\", key, fp)|./e2e/ -run TestIdempotencyKeyPerEmployee"
  "smpp-window|gateway/smpp/session.go|make\(chan struct\{\}, cfg.Window\)|make(chan struct{}, cfg.Window*1000)|./gateway/smpp/ -run TestWindowBoundsRequestsOnTheWire"
  "layers-nats|internal/layers/layers_test.go|return strings.HasPrefix\(imp, \"github.com/nats-io/\"\)|return false|./internal/layers/ -run TestLayersCatch"
  "verify-event-ids|archive/verify.go|if id := eventID\(sr.Data\); id != \"\" \{|if id := eventID(sr.Data); false \&\& id != \"\" {|./archive/ -run TestVerifyDuplicateEvent"
  "readyz-archive|internal/app/health.go|if err := a.Store.Check\(cctx\); err != nil \{|if err := a.Store.Check(cctx); false \&\& err != nil {|./e2e/ -run TestArchiveBeforeDeliverWhileStoreDown"
  "optout-status|sms/errors.go|0x0401\}|0x0400}|./gateway/smppserver/ -run TestSubmitRefusals"
)

survived=0
for m in "${MUTATIONS[@]}"; do
  IFS='|' read -r name file from to args <<<"$m"
  if [ -n "${1:-}" ] && [[ "$name" != *"$1"* ]]; then continue; fi
  cp "$file" "$file.orig"
  n=$(FROM="$from" TO="$to" perl -0 -ne '$c = () = /$ENV{FROM}/g; print $c' "$file")
  if [ "$n" != "1" ]; then
    echo "MUTATION $name: pattern matches $n times in $file (want 1): the table is stale"; rm -f "$file.orig"; survived=$((survived+1)); continue
  fi
  FROM="$from" TO="$to" perl -0pi -e 's/$ENV{FROM}/$ENV{TO}/' "$file"
  # shellcheck disable=SC2086
  if go test -count=1 -timeout 10m $args >/tmp/mutation-$name.log 2>&1; then
    echo "SURVIVED  $name ($file): go test $args passed"; survived=$((survived+1))
  else
    echo "killed    $name"
  fi
  mv "$file.orig" "$file"
done
[ "$survived" -eq 0 ]
