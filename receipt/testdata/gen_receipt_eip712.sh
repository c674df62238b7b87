#!/usr/bin/env bash
# Generates testdata/vectors/receipt_eip712.json with Foundry's cast (python3 only reduces mod R), so the vector is
# independent of the Go implementation it pins (receipt/eip712.go). Two routes must agree:
#   1. the digest composed by hand from `cast keccak` and `cast abi-encode` (spec §8.2), then
#      signed with `cast wallet sign --no-hash`;
#   2. `cast wallet sign --data --from-file` over an EIP-712 typed-data JSON (cast's own hasher).
# Run from the repository root: receipt/testdata/gen_receipt_eip712.sh > testdata/vectors/receipt_eip712.json
set -euo pipefail
CAST=${CAST:-node_modules/.bin/cast}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

key=$($CAST keccak "probity/vector/receipt-node-key")
node_key=$($CAST wallet address --private-key "$key")
chain_id=31337
contract=0x5fbdb2315678afecb367f032d93f642f64180aa3
job_id=7
provider=0x70997970c51812dc3a010c7d01b50e0d17dc79c8
spec_hash=$($CAST keccak "probity/vector/spec")
att_digest=$($CAST keccak "probity/vector/attestation")
R=21888242871839275222246405745257275088548364400416034343698204186575808495617
fe() { $CAST to-dec "$($CAST keccak "$1")" | xargs -I{} python3 -c "print(hex({} % $R))"; }
word() { $CAST to-uint256 "$1"; }
root0=$(word "$(fe probity/vector/root0)")
root1=$(word "$(fe probity/vector/root1)")
seed=$(word "$(fe probity/vector/seed)")
k=2
proof() { local p=0x; for w in 0 1 2 3 4 5 6 7; do p+=$($CAST keccak "probity/vector/proof$1/$w" | cut -c3-); done; echo "$p"; }
proof0=$(proof 0); proof1=$(proof 1)
proofs_hash=$($CAST keccak "$proof0${proof1#0x}")

domain_type="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
receipt_type="Receipt(uint256 jobId,address provider,bytes32 specHash,uint256[] outputRoots,bytes32 attestationDigest,uint256 seed,uint16 k,bytes32 proofsHash)"
domain_sep=$($CAST keccak "$($CAST abi-encode "f(bytes32,bytes32,bytes32,uint256,address)" \
  "$($CAST keccak "$domain_type")" "$($CAST keccak Probity)" "$($CAST keccak 0)" $chain_id $contract)")
type_hash=$($CAST keccak "$receipt_type")
roots_hash=$($CAST keccak "$root0${root1#0x}")
struct_hash=$($CAST keccak "$($CAST abi-encode "f(bytes32,uint256,address,bytes32,bytes32,bytes32,uint256,uint16,bytes32)" \
  "$type_hash" $job_id $provider "$spec_hash" "$roots_hash" "$att_digest" "$seed" $k "$proofs_hash")")
digest=$($CAST keccak "0x1901${domain_sep#0x}${struct_hash#0x}")
sig_hash=$($CAST wallet sign --no-hash --private-key "$key" "$digest")

cat > "$tmp/typed.json" <<JSON
{
  "types": {
    "EIP712Domain": [
      {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
      {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}
    ],
    "Receipt": [
      {"name": "jobId", "type": "uint256"}, {"name": "provider", "type": "address"},
      {"name": "specHash", "type": "bytes32"}, {"name": "outputRoots", "type": "uint256[]"},
      {"name": "attestationDigest", "type": "bytes32"}, {"name": "seed", "type": "uint256"},
      {"name": "k", "type": "uint16"}, {"name": "proofsHash", "type": "bytes32"}
    ]
  },
  "primaryType": "Receipt",
  "domain": {"name": "Probity", "version": "0", "chainId": $chain_id, "verifyingContract": "$contract"},
  "message": {
    "jobId": $job_id, "provider": "$provider", "specHash": "$spec_hash",
    "outputRoots": ["$root0", "$root1"], "attestationDigest": "$att_digest",
    "seed": "$seed", "k": $k, "proofsHash": "$proofs_hash"
  }
}
JSON
sig_typed=$($CAST wallet sign --data --from-file --private-key "$key" "$tmp/typed.json")
if [ "$sig_hash" != "$sig_typed" ]; then
  echo "cast disagrees with itself: --no-hash $sig_hash, --data $sig_typed" >&2; exit 1
fi

jq -n --arg gen "receipt/testdata/gen_receipt_eip712.sh ($($CAST --version | head -1)): cast keccak + cast abi-encode for the digest, cast wallet sign --no-hash and cast wallet sign --data --from-file (agreeing) for the signature" \
  --arg key "$key" --arg nodeKey "$($CAST to-check-sum-address "$node_key")" --argjson chainId $chain_id \
  --arg contract "$contract" --arg jobId "$job_id" --arg provider "$provider" --arg specHash "$spec_hash" \
  --arg root0 "$root0" --arg root1 "$root1" --arg att "$att_digest" --arg seed "$seed" --argjson k $k \
  --arg proof0 "$proof0" --arg proof1 "$proof1" --arg proofsHash "$proofs_hash" \
  --arg typeHash "$type_hash" --arg domainSep "$domain_sep" --arg structHash "$struct_hash" \
  --arg digest "$digest" --arg sig "$sig_hash" '{
  generatedBy: $gen,
  expect: "valid",
  privateKey: $key,
  input: {chainId: ($chainId|tostring), contract: $contract, jobId: $jobId, provider: $provider,
          specHash: $specHash, outputRoots: [$root0, $root1], attestationDigest: $att, seed: $seed,
          k: $k, proofs: [$proof0, $proof1]},
  output: {receiptTypeHash: $typeHash, proofsHash: $proofsHash, domainSeparator: $domainSep,
           structHash: $structHash, digest: $digest, signature: $sig, signer: $nodeKey}
}'
