//go:build !heavy

package circuits

const heavyTests = false
