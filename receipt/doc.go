// Package receipt implements the Probity receipt of specs/protocol.md §8: the self-contained
// document a provider returns for a settled job, its canonical JSON encoding, and the EIP-712
// digest that the provider's node key signs.
//
// The same digest is recomputed by the SLA manager (ecrecover at proof submission), by wallets
// and by `cast`, so the Go code here is pinned against vectors that the Solidity tests share.
// Decoding is strict: unknown fields, non-canonical hex and out-of-range values are rejected with
// an error that names the field, and the document must be the canonical encoding (the key order
// of the Go types, lower-case hex, decimal strings for chain and job ids) up to insignificant
// whitespace, because an auditor must never accept two spellings of one receipt.
//
// testdata/vectors/receipt_eip712.json pins the EIP-712 digest and signature; it is generated
// by Foundry's cast (receipt/testdata/gen_receipt_eip712.sh), not by this package.
package receipt
