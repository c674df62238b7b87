// Package protocol holds the constants and the byte-level encodings of the Probity protocol,
// version 0 (specs/protocol.md): the scalar field, epilogue words (§3.2), shape ids (§5), the
// EIP-712 job spec hash and domain (§6.1, §8.2), seed derivation (§6.2) and stake sizing (§11).
//
// It is the lowest layer of the module: it imports only go-ethereum's common and crypto
// packages, so the contracts' encodings can be pinned against it without dragging in the
// proof system. Every encoding here is mirrored in Solidity; testdata/vectors pins both.
package protocol
