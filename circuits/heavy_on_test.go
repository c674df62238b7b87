//go:build heavy

package circuits

// heavyTests enables the large shapes in tests (go test -tags heavy).
const heavyTests = true
