//go:build heavy

package universal

// heavyTests enables the production class's compile and the real proofs.
const heavyTests = true
