// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";
import {ShapeRegistry} from "../src/ShapeRegistry.sol";
import {SLAManager} from "../src/SLAManager.sol";
import {Receipt, ReceiptLibrary} from "../src/types/Receipt.sol";

/// @dev Exposes the calldata-only proofs hash.
contract ProofsHasher {
    function proofsHash(uint256[8][] calldata proofs) external pure returns (bytes32) {
        return ReceiptLibrary.proofsHash(proofs);
    }
}

/// @notice Pins the Solidity EIP-712 code to the vectors the Go side generated with cast
///         (testdata/vectors/*.json): the same digests in both languages.
contract VectorsTest is Test {
    string internal json;

    function setUp() public {
        json = vm.readFile(string.concat(vm.projectRoot(), "/testdata/vectors/receipt_eip712.json"));
    }

    function _receipt() internal returns (Receipt memory r, uint256[8][] memory proofs) {
        bytes32[] memory roots = vm.parseJsonBytes32Array(json, ".input.outputRoots");
        r.outputRoots = new uint256[](roots.length);
        for (uint256 i = 0; i < roots.length; ++i) {
            r.outputRoots[i] = uint256(roots[i]);
        }
        r.jobId = vm.parseJsonUint(json, ".input.jobId");
        r.provider = vm.parseJsonAddress(json, ".input.provider");
        r.specHash = vm.parseJsonBytes32(json, ".input.specHash");
        r.attestationDigest = vm.parseJsonBytes32(json, ".input.attestationDigest");
        r.seed = uint256(vm.parseJsonBytes32(json, ".input.seed"));
        r.k = uint16(vm.parseJsonUint(json, ".input.k"));
        proofs = new uint256[8][](2);
        for (uint256 i = 0; i < 2; ++i) {
            bytes memory p = vm.parseJsonBytes(json, string.concat(".input.proofs[", vm.toString(i), "]"));
            assertEq(p.length, 256);
            proofs[i] = abi.decode(p, (uint256[8]));
        }
        r.proofsHash = new ProofsHasher().proofsHash(proofs);
    }

    function test_receiptVector_typeHashAndStruct() public {
        assertEq(ReceiptLibrary.RECEIPT_TYPEHASH, vm.parseJsonBytes32(json, ".output.receiptTypeHash"));
        (Receipt memory r,) = _receipt();
        assertEq(r.proofsHash, vm.parseJsonBytes32(json, ".output.proofsHash"));
        assertEq(ReceiptLibrary.hash(r), vm.parseJsonBytes32(json, ".output.structHash"));
    }

    /// @dev The manager's own receiptDigest, run at the vector's chain id and address.
    function test_receiptVector_managerDigestAndSigner() public {
        (Receipt memory r,) = _receipt();
        address at = vm.parseJsonAddress(json, ".input.contract");
        vm.chainId(vm.parseJsonUint(json, ".input.chainId"));
        SLAManager m = new SLAManager(IERC20(address(1)), ProviderRegistry(address(2)), ShapeRegistry(address(3)), address(this));
        vm.etch(at, address(m).code);
        SLAManager atVector = SLAManager(at);
        assertEq(atVector.domainSeparator(), vm.parseJsonBytes32(json, ".output.domainSeparator"));
        bytes32 digest = atVector.receiptDigest(r);
        assertEq(digest, vm.parseJsonBytes32(json, ".output.digest"));

        bytes memory sig = vm.parseJsonBytes(json, ".output.signature");
        bytes32 rr;
        bytes32 ss;
        uint8 v;
        assembly {
            rr := mload(add(sig, 32))
            ss := mload(add(sig, 64))
            v := byte(0, mload(add(sig, 96)))
        }
        assertEq(ecrecover(digest, v, rr, ss), vm.parseJsonAddress(json, ".output.signer"));
        assertEq(vm.addr(vm.parseJsonUint(json, ".privateKey")), vm.parseJsonAddress(json, ".output.signer"));
    }
}
