package circuits

import gnarklog "github.com/consensys/gnark/logger"

// gnark logs every compilation, setup, proof and verification at debug level, in colour, to
// os.Stdout, through one global logger that it mutes only inside `go test`. A program that
// imports Probity (through sdk, prover or verifier, which all import this package) owns its
// stdout: it may be printing JSON or a generated text. So the logger is switched off when
// this package loads; a program that wants gnark's lines back calls gnarklog.Set (or
// SetOutput) after its imports are initialised.
func init() { silenceGnark() }

func silenceGnark() { gnarklog.Disable() }
