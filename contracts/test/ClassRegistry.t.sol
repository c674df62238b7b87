// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ClassRegistry, Class, ClassStatus} from "../src/ClassRegistry.sol";
import {SyntheticGroth16} from "./helpers/SyntheticGroth16.sol";

/// @notice The class registry on its own: ids, registration, the retirement tombstone and
///         two-step ownership (the model catalogue is covered with the manager in SLAManager.t.sol).
contract ClassRegistryTest is Test {
    string internal constant NAME = "universal-test-class";
    address internal gov = makeAddr("gov");
    ClassRegistry internal reg;
    address internal v;
    address internal tv;
    bytes32 internal id = keccak256(bytes(NAME));

    function setUp() public {
        reg = new ClassRegistry(gov);
        v = address(SyntheticGroth16.deploy());
        tv = address(SyntheticGroth16.deployTargeted());
    }

    function test_classId_isTheNameHash() public view {
        assertEq(reg.classIdOf(NAME), id);
    }

    function test_register_andViews() public {
        vm.expectEmit(address(reg));
        emit ClassRegistry.ClassRegistered(id, v, tv, 3, NAME);
        vm.prank(gov);
        assertEq(reg.registerClass(NAME, v, tv, 3), id);
        Class memory c = reg.classOf(id);
        assertEq(c.verifier, v);
        assertEq(c.minSlots, 3);
        assertEq(uint8(c.status), uint8(ClassStatus.Active));
        assertEq(reg.verifierOf(id), v);
        assertEq(c.targetedVerifier, tv);
        assertEq(reg.targetedVerifierOf(id), tv);
        (ClassStatus st, uint16 k) = reg.termsOf(id);
        assertEq(uint8(st), uint8(ClassStatus.Active));
        assertEq(k, 3);
        assertEq(uint8(reg.classOf(keccak256("unknown")).status), uint8(ClassStatus.None));
    }

    function test_register_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        reg.registerClass(NAME, v, tv, 3);
        vm.startPrank(gov);
        vm.expectRevert(abi.encodeWithSelector(ClassRegistry.ZeroSlots.selector));
        reg.registerClass(NAME, v, tv, 0);
        vm.expectRevert(abi.encodeWithSelector(ClassRegistry.VerifierHasNoCode.selector, address(1234)));
        reg.registerClass(NAME, address(1234), tv, 3);
        vm.expectRevert(abi.encodeWithSelector(ClassRegistry.VerifierHasNoCode.selector, address(4321)));
        reg.registerClass(NAME, v, address(4321), 3);
        reg.registerClass(NAME, v, tv, 3);
        vm.expectRevert(abi.encodeWithSelector(ClassRegistry.ClassAlreadyRegistered.selector, id, ClassStatus.Active));
        reg.registerClass(NAME, v, tv, 3);
        vm.stopPrank();
    }

    function test_retire_isTombstone() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        reg.retire(id);
        vm.startPrank(gov);
        vm.expectRevert(abi.encodeWithSelector(ClassRegistry.ClassNotActive.selector, id, ClassStatus.None));
        reg.retire(id);
        reg.registerClass(NAME, v, tv, 3);
        vm.expectEmit(address(reg));
        emit ClassRegistry.ClassRetired(id);
        reg.retire(id);
        assertEq(uint8(reg.classOf(id).status), uint8(ClassStatus.Retired));
        assertEq(reg.verifierOf(id), v); // in-flight jobs still verify
        vm.expectRevert(abi.encodeWithSelector(ClassRegistry.ClassNotActive.selector, id, ClassStatus.Retired));
        reg.retire(id);
        address other = address(SyntheticGroth16.deploy());
        vm.expectRevert(abi.encodeWithSelector(ClassRegistry.ClassAlreadyRegistered.selector, id, ClassStatus.Retired));
        reg.registerClass(NAME, other, tv, 3);
        vm.stopPrank();
    }

    function test_ownable2Step() public {
        address next = makeAddr("next");
        vm.prank(gov);
        reg.transferOwnership(next);
        assertEq(reg.owner(), gov);
        vm.prank(next);
        reg.acceptOwnership();
        assertEq(reg.owner(), next);
    }
}
