// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Fixture} from "./helpers/Fixture.sol";
import {ResultDigest} from "../src/libraries/ResultDigest.sol";
import {Request} from "../src/types/Request.sol";
import {Commitment, Receipt} from "../src/types/Settlement.sol";

/// @notice The manager against testdata/vectors/settlement.json, made by the Go reference
///         (package protocol, internal/cmd/genvectors): the job id of each request under the
///         vector's chain and manager address (the manager's code is placed there), the domain
///         separator, the v1 receipt digest, the packed result and its digest, and the v2 seed
///         formula of settlement.md §4.
contract SettlementVectorsTest is Fixture {
    string internal json;

    function setUp() public override {
        super.setUp();
        json = vm.readFile(string.concat(vm.projectRoot(), "/testdata/vectors/settlement.json"));
    }

    function _key(uint256 i, string memory field) internal pure returns (string memory) {
        return string.concat(".cases[", vm.toString(i), "].", field);
    }

    function _request(uint256 i) internal view returns (Request memory r) {
        r.buyer = vm.parseJsonAddress(json, _key(i, "request.buyer"));
        r.classId = vm.parseJsonBytes32(json, _key(i, "request.classId"));
        r.modelRoot = vm.parseJsonUint(json, _key(i, "request.modelRoot"));
        r.jobDigest = vm.parseJsonUint(json, _key(i, "request.jobDigest"));
        r.newTokens = uint32(vm.parseJsonUint(json, _key(i, "request.newTokens")));
        r.price = uint96(vm.parseJsonUint(json, _key(i, "request.price")));
        r.lockBy = uint64(vm.parseJsonUint(json, _key(i, "request.lockBy")));
        r.execWindow = uint32(vm.parseJsonUint(json, _key(i, "request.execWindow")));
        r.proveWindow = uint32(vm.parseJsonUint(json, _key(i, "request.proveWindow")));
        r.challengeWindow = uint32(vm.parseJsonUint(json, _key(i, "request.challengeWindow")));
        r.seedCommitment = vm.parseJsonBytes32(json, _key(i, "request.seedCommitment"));
        r.salt = vm.parseJsonUint(json, _key(i, "request.salt"));
    }

    function test_vectors() public {
        uint256 n;
        while (vm.keyExistsJson(json, string.concat(".cases[", vm.toString(n), "]"))) {
            _case(n);
            ++n;
        }
        assertEq(n, 3, "cases");
    }

    function _case(uint256 i) internal {
        address at = vm.parseJsonAddress(json, _key(i, "manager"));
        vm.chainId(vm.parseJsonUint(json, _key(i, "chainId")));
        vm.etch(at, address(manager).code);
        SettlementVectorsProbe probe = SettlementVectorsProbe(at);
        assertEq(probe.domainSeparator(), vm.parseJsonBytes32(json, _key(i, "domainSeparator")), "domain separator");
        Request memory r = _request(i);
        uint256 jobId = probe.jobIdOf(r);
        assertEq(jobId, vm.parseJsonUint(json, _key(i, "jobId")), "job id");
        uint256 seed = _seed(i, at, jobId, r.seedCommitment);
        uint256 rd = _result(i);
        Receipt memory rc = Receipt({
            jobId: jobId,
            provider: vm.parseJsonAddress(json, _key(i, "provider")),
            modelRoot: r.modelRoot,
            jobDigest: r.jobDigest,
            traceRoot: vm.parseJsonUint(json, _key(i, "traceRoot")),
            attestationDigest: vm.parseJsonBytes32(json, _key(i, "attestationDigest")),
            seed: seed,
            resultDigest: rd,
            proofHash: vm.parseJsonBytes32(json, _key(i, "receipt.proofHash"))
        });
        assertEq(probe.receiptDigest(rc), vm.parseJsonBytes32(json, _key(i, "receiptDigest")), "receipt digest");
    }

    /// @dev The commitment (the manager's commitmentOf) and the seed formula of settlement.md §4
    ///      (its _deriveSeed).
    function _seed(uint256 i, address at, uint256 jobId, bytes32 seedCommitment) internal view returns (uint256 seed) {
        bytes32 commitment = SettlementVectorsProbe(at).commitmentOf(
            Commitment({
                provider: vm.parseJsonAddress(json, _key(i, "provider")),
                stake: uint96(vm.parseJsonUint(json, _key(i, "stake"))),
                traceRoot: vm.parseJsonUint(json, _key(i, "traceRoot")),
                attestationDigest: vm.parseJsonBytes32(json, _key(i, "attestationDigest"))
            })
        );
        assertEq(commitment, vm.parseJsonBytes32(json, _key(i, "commitment")), "commitment");
        bytes32 secret = vm.parseJsonBytes32(json, _key(i, "secret"));
        if (secret != bytes32(0)) assertEq(keccak256(abi.encode(secret)), seedCommitment, "seed commitment");
        bytes32 blockHash = vm.parseJsonBytes32(json, _key(i, "blockHash"));
        seed = uint256(
            keccak256(abi.encodePacked("probity/seed/v2", block.chainid, at, jobId, commitment, blockHash, secret))
        ) % R;
        assertEq(seed, vm.parseJsonUint(json, _key(i, "seed")), "seed v2");
    }

    function _result(uint256 i) internal view returns (uint256 rd) {
        uint256[] memory tokens = vm.parseJsonUintArray(json, _key(i, "tokens"));
        uint256[] memory words = vm.parseJsonUintArray(json, _key(i, "resultWords"));
        assertEq(ResultDigest.pack(tokens), words, "result words");
        rd = hasher.resultDigest(tokens.length, words);
        assertEq(rd, vm.parseJsonUint(json, _key(i, "resultDigest")), "result digest");
    }
}

/// @dev The views of the manager the vectors exercise, callable at an etched address.
interface SettlementVectorsProbe {
    function domainSeparator() external view returns (bytes32);
    function jobIdOf(Request calldata req) external view returns (uint256);
    function receiptDigest(Receipt calldata receipt) external view returns (bytes32);
    function commitmentOf(Commitment calldata c) external pure returns (bytes32);
}
