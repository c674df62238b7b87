//go:build !heavy

package universal

const heavyTests = false
