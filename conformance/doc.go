// Package conformance holds tests that cross packages: the layout rules of
// the module, the agreement of package seal's output with the container
// parsed by package format, and (as they are added) vectors, decision-table
// and interop tests against real TLS implementations.
package conformance
