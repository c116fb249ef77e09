// Package conformance holds the tests that cross packages: the layout and
// dependency rules of the module, the README's claims, attacks grouped by
// threat (docs/threat-model.md), replay and keys across a fleet, and the
// rule that every parser has a fuzz target with seeds. The interop tests
// with real TLS clients live beside the server they run against,
// cmd/ticketctl/internal/server.
package conformance
