#!/usr/bin/env bash
# Mutation testing of the critical packages with go-gremlins (issue 16).
# A developer target, not part of CI: a full run takes hours on a 2-core
# machine (filters alone has ~2,000 mutants at 3-20 s each, depending on
# load).
#
#   scripts/gremlins.sh                      # all critical packages
#   scripts/gremlins.sh internal/auth sms    # just these
#   GREMLINS_DRY=1 scripts/gremlins.sh       # count mutants, run nothing
#
# Installs gremlins into .bin/ when missing (Go module proxy), runs it on
# each package with one worker, and prints killed / lived / not covered /
# timed out / efficacy / mutant coverage per package. Full reports go to
# .bin/gremlins-out/<pkg>.{txt,json}.
#
# Environment:
#   GREMLINS_WORKERS      workers (default 1; the machine is shared)
#   GREMLINS_COEFFICIENT  timeout coefficient x the coverage run's time (default 5)
#   GREMLINS_DRY=1        dry run: list mutants, no tests
#   GREMLINS_THRESHOLD    fail (exit 1) if a package's efficacy is below this %
#   GREMLINS_ARGS         more gremlins unleash flags, e.g. "-E ^(card|cardextra)\.go$"
#                         to leave files out of a long run (paths relative to the package)
#
# Efficacy is KILLED / (KILLED + LIVED); timed-out and not-viable mutants
# count in neither. Mutants on `case` expressions are reported NOT COVERED
# by gremlins even when the case runs (coverage blocks start after the
# colon), so mutant coverage understates real coverage.
set -euo pipefail
cd "$(dirname "$0")/.."

GREMLINS_VERSION=v0.6.0
workers=${GREMLINS_WORKERS:-1}
coef=${GREMLINS_COEFFICIENT:-5}
threshold=${GREMLINS_THRESHOLD:-}
out=.bin/gremlins-out

if [ ! -x .bin/gremlins ] || [ "$(cat .bin/gremlins.version 2>/dev/null)" != "$GREMLINS_VERSION" ]; then
	echo "==> installing gremlins $GREMLINS_VERSION into .bin/"
	mkdir -p .bin
	GOBIN="$PWD/.bin" go install "github.com/go-gremlins/gremlins/cmd/gremlins@$GREMLINS_VERSION"
	echo "$GREMLINS_VERSION" > .bin/gremlins.version
fi
if [ -x .bin/minio ]; then
	export SMSGW_MINIO="$PWD/.bin/minio" # archive's S3 tests, as in scripts/test.sh
fi
# -count=1: the coverage run must not come from the test cache (its time
# sets the per-mutant timeout); -vet=off: vet does not change a verdict.
# Note: do not use gremlins' --test-cpu (v0.6.0 passes "-cpu N" as one
# argument, which go test rejects).
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-count=1 -vet=off"

pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(filters internal/auth archive sms gateway/api)

mkdir -p "$out"
summary=()
fail=0
for p in "${pkgs[@]}"; do
	p=${p#./}
	p=${p%/}
	[ -d "$p" ] || { echo "no such package dir: $p" >&2; exit 2; }
	name=${p//\//_}
	args=(unleash --workers "$workers" --timeout-coefficient "$coef" -o "$out/$name.json")
	# The labelled corpus generator is test data, not production code.
	[ "$p" = filters ] && args+=(-E 'internal/corpus/')
	[ -n "${GREMLINS_DRY:-}" ] && args+=(--dry-run)
	# shellcheck disable=SC2206 # word splitting wanted
	[ -n "${GREMLINS_ARGS:-}" ] && args+=(${GREMLINS_ARGS})
	echo "==> gremlins ${args[*]} $p"
	start=$(date +%s)
	if ! .bin/gremlins "${args[@]}" "$PWD/$p" 2>&1 | tee "$out/$name.txt"; then
		echo "gremlins failed on $p" >&2
		fail=1
	fi
	secs=$(($(date +%s) - start))
	txt="$out/$name.txt"
	get() { sed -n "s/.*$1: \([0-9.%]*\).*/\1/p" "$txt" | head -1; }
	if [ -n "${GREMLINS_DRY:-}" ]; then
		summary+=("$(printf '%-14s runnable %5s  not covered %5s  mutant coverage %7s' "$p" "$(get Runnable)" "$(get 'Not covered')" "$(get 'Mutator coverage')")")
		continue
	fi
	eff=$(get 'Test efficacy')
	summary+=("$(printf '%-14s killed %5s  lived %5s  not covered %5s  timed out %4s  not viable %3s  efficacy %7s  mutant coverage %7s  (%ss)' \
		"$p" "$(get Killed)" "$(get Lived)" "$(get 'Not covered')" "$(get 'Timed out')" "$(get 'Not viable')" "${eff:-n/a}" "$(get 'Mutator coverage')" "$secs")")
	if [ -n "$threshold" ] && [ -n "$eff" ] && awk -v e="${eff%\%}" -v t="$threshold" 'BEGIN{exit !(e < t)}'; then
		echo "efficacy of $p is $eff, below $threshold%" >&2
		fail=1
	fi
done

echo
echo "==> gremlins $GREMLINS_VERSION, workers $workers, timeout coefficient $coef"
printf '%s\n' "${summary[@]}"
exit $fail
