// Package fuzz holds the engine-level fuzz targets of tlsticket: the targets
// that cross packages, driving the wire formats of package format, the key
// ring of package seal, the decision table of package status and the TLS 1.3
// key schedule of package resumption through package engine. Targets for one
// package sit next to its code (format, seal).
//
// The package has no code of its own; the targets are in fuzz_test.go and
// docs/fuzzing.md describes them, their seeds and how to run them.
//
// # Determinism
//
// Every target builds its engines, key rings and tickets from fixed secrets,
// a fixed clock and deterministic random sources, so each fuzzing worker
// process builds byte-identical tickets and ClientHellos. A property such as
// "only the tickets this target issued ever open" then holds across workers.
package fuzz
