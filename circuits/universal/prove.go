package universal

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
)

// ErrProof reports a proof that does not verify.
var ErrProof = errors.New("universal proof does not verify")

// Proof is one job's proof, sampled (Prove) or targeted (ProveTargeted), with its public
// inputs (circuit order: the seed or the element word last) and its 256-byte Solidity encoding
// (contracts/src/Groth16Verifier.sol).
type Proof struct {
	Groth16  groth16.Proof
	Public   [5]fr.Element
	Solidity [circuits.ProofSize]byte
}

// Setup returns the class's development keys from the default cache, generating them on
// first use (single-party setup: for development; deployments use a ceremony).
func Setup(cl *Class) (*circuits.Keys, error) {
	c, err := circuits.DefaultCache()
	if err != nil {
		return nil, err
	}
	return c.Setup(cl)
}

// Prove proves a statement with the class's keys. It checks the statement natively first
// (Check), so a wrong trace is reported by the op and row at fault rather than as an
// unsatisfied constraint, then builds the witness (Assign); a job that does not fit the class
// is ErrClass.
func Prove(keys *circuits.Keys, st *Statement) (*Proof, error) {
	cl, ok := keys.Target.(*Class)
	if !ok {
		return nil, fmt.Errorf("prove: keys are for %s, not a universal class", keys.Target)
	}
	if err := st.Check(cl); err != nil {
		return nil, fmt.Errorf("prove: %w", err)
	}
	a, err := Assign(cl, st)
	if err != nil {
		return nil, err
	}
	return prove(keys, cl, a, [5]frontend.Variable{a.ModelRoot, a.JobDigest, a.TraceRoot, a.ResultDigest, a.Seed})
}

// prove proves an assignment of either statement with keys and encodes the proof for
// Solidity; public is the assignment's five public inputs in circuit order.
func prove(keys *circuits.Keys, name fmt.Stringer, a frontend.Circuit, public [5]frontend.Variable) (*Proof, error) {
	w, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
	if err != nil {
		return nil, fmt.Errorf("prove %s: witness: %w", name, err)
	}
	pr, err := groth16.Prove(keys.CCS, keys.PK, w)
	if err != nil {
		return nil, fmt.Errorf("prove %s: %w", name, err)
	}
	sol, err := circuits.MarshalSolidity(pr)
	if err != nil {
		return nil, err
	}
	p := &Proof{Groth16: pr, Solidity: sol}
	for q, v := range public {
		if _, err := p.Public[q].SetInterface(v); err != nil {
			return nil, fmt.Errorf("prove %s: public input %d: %w", name, q, err)
		}
	}
	return p, nil
}

// Verify checks a proof against a class's verifying key and the five public inputs: model
// root, job digest, trace root, result digest, seed.
func Verify(vk groth16.VerifyingKey, proof groth16.Proof, public [5]fr.Element) error {
	return verify(vk, proof, &Circuit{ModelRoot: public[0], JobDigest: public[1], TraceRoot: public[2], ResultDigest: public[3], Seed: public[4]})
}

func verify(vk groth16.VerifyingKey, proof groth16.Proof, a frontend.Circuit) error {
	pw, err := frontend.NewWitness(a, ecc.BN254.ScalarField(), frontend.PublicOnly())
	if err != nil {
		return fmt.Errorf("verify: public witness: %w", err)
	}
	if err := groth16.Verify(proof, vk, pw); err != nil {
		return fmt.Errorf("%w: %w", ErrProof, err)
	}
	return nil
}

// SetupTargeted returns the development keys of a class's targeted circuit from the default
// cache (its entry is TargetedClass's id, never the sampled circuit's or an older version's).
func SetupTargeted(cl *Class) (*circuits.Keys, error) {
	c, err := circuits.DefaultCache()
	if err != nil {
		return nil, err
	}
	return c.Setup(TargetedClass{cl})
}

// ProveTargeted proves a targeted assignment (AssignTargeted) with the keys of its class's
// targeted circuit. The proof's public inputs are model root, job digest, trace root, result
// digest and the element word: TargetedInputs of the same values, what the contract rebuilds.
func ProveTargeted(keys *circuits.Keys, a *Targeted) (*Proof, error) {
	tc, ok := keys.Target.(TargetedClass)
	if !ok || a.class == nil || tc.String() != (TargetedClass{a.class}).String() {
		return nil, fmt.Errorf("prove targeted: keys are for %s, not the targeted circuit of this assignment's class", keys.Target)
	}
	return prove(keys, tc, a, [5]frontend.Variable{a.ModelRoot, a.JobDigest, a.TraceRoot, a.ResultDigest, a.Element})
}

// VerifyTargeted checks a targeted proof against the targeted verifying key and its five
// public inputs (model root, job digest, trace root, result digest, element word).
func VerifyTargeted(vk groth16.VerifyingKey, proof groth16.Proof, public [5]fr.Element) error {
	return verify(vk, proof, &Targeted{ModelRoot: public[0], JobDigest: public[1], TraceRoot: public[2], ResultDigest: public[3], Element: public[4]})
}

// TargetedInputs returns the targeted verifier's five public inputs, as the integers the
// Solidity verifier takes: the job's four digests and the element word.
func TargetedInputs(modelRoot, jobDigest, traceRoot, resultDigest fr.Element, e jobs.Element) [5]*big.Int {
	return [5]*big.Int{commit.ToBig(modelRoot), commit.ToBig(jobDigest), commit.ToBig(traceRoot), commit.ToBig(resultDigest), e.Word()}
}

// PublicWords returns the public inputs as the integers the Solidity verifier takes.
func PublicWords(public [5]fr.Element) [5]*big.Int {
	var w [5]*big.Int
	for i := range w {
		w[i] = commit.ToBig(public[i])
	}
	return w
}

// Check verifies natively what the class's circuit will check for this statement: the job
// against the model, the input rows and every token (trace.md §2, §3), and the whole row of
// each op a slot draws, recomputed with the reference ops (model.Pass.CheckRows). It names the
// first op and row at fault.
func (st *Statement) Check(cl *Class) error {
	if err := cl.Fits(st.Model, st.Trace.T, st.Job); err != nil {
		return err
	}
	checked, err := st.Job.Check(st.Model)
	if err != nil {
		return err
	}
	counts := st.Model.KindCounts()
	rows := map[int][]int{}
	for k := 1; k <= model.NumKinds; k++ {
		for si := range cl.Slots[k] {
			if counts[k] == 0 {
				continue
			}
			x := slotWords(st.Seed, k, si)
			u := st.Model.OpOfRank(model.Kind(k), mod(x[0], counts[k]))
			rows[u] = append(rows[u], mod(x[1], st.Trace.T))
		}
	}
	return checked.CheckTrace(st.Trace, st.Tokens, func(op, _ int) []int {
		if r, ok := rows[op]; ok {
			return r
		}
		return []int{} // a non-nil empty list: no row of this op is sampled
	})
}
