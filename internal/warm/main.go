package main

import (
	_ "github.com/consensys/gnark/backend/groth16"
	_ "github.com/consensys/gnark/frontend/cs/r1cs"
	_ "github.com/consensys/gnark/std/permutation/poseidon2"
	_ "github.com/consensys/gnark/test"
	_ "github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	_ "github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	_ "github.com/ethereum/go-ethereum/ethclient/simulated"
	_ "github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	_ "github.com/ethereum/go-ethereum/signer/core/apitypes"
	_ "github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	_ "github.com/stretchr/testify/require"
)

func main() {}
