// Package protocol holds the constants and the byte-level encodings of the Probity protocol:
// the shared primitives of specs/protocol.md (the scalar field, epilogue words §3.2, the
// EIP-712 domain, the seed commitment, the outputs digest the CC nonce binds, stake sizing
// §11) and the settlement encodings of specs/settlement.md (the request and its job id, the
// commitment, the v2 seed, the receipt and the packed result words).
//
// It is the lowest layer of the module: it imports only go-ethereum's common and crypto
// packages, so the contracts' encodings can be pinned against it without dragging in the
// proof system. Every encoding here is mirrored in Solidity; testdata/vectors pins both.
package protocol
