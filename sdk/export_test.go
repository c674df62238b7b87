package sdk

// DecodeErrorForTest exposes decodeError to the external tests, for reverts of calls made
// through Chain().
var DecodeErrorForTest = decodeError
