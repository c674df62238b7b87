// Package protocol holds the constants and the byte-level encodings of the Probity protocol,
// version 0 (specs/protocol.md): the scalar field, epilogue words (§3.2), shape ids (§5), the
// EIP-712 job spec hash and domain (§6.1, §8.2), seed derivation (§6.2) and stake sizing (§11);
// and those of v1 settlement (specs/settlement.md): the request and its job id, the commitment,
// the v2 seed, the v1 receipt and the packed result words.
//
// It is the lowest layer of the module: it imports only go-ethereum's common and crypto
// packages, so the contracts' encodings can be pinned against it without dragging in the
// proof system. Every encoding here is mirrored in Solidity; testdata/vectors pins both.
package protocol
