// Package layers holds the dependency test that keeps the layers of the
// code honest (Tailscale's deptest idea): which package may import which.
// The rules are in layers_test.go, each with its reason.
package layers
