package verifier

import (
	"context"
	"fmt"
	"math/big"
	"slices"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/receipt"
)

func (a *audit) replay() {
	p, rc := a.policy, a.rc
	switch {
	case p.ChainID != nil && p.ChainID.Cmp(rc.ChainID.Big()) != 0:
		a.r.failf(CheckReplay, ErrReplay, "chain id %s, policy expects %s", rc.ChainID, p.ChainID)
	case p.Manager != nil && *p.Manager != rc.Manager:
		a.r.failf(CheckReplay, ErrReplay, "manager %s, policy expects %s", rc.Manager.Hex(), p.Manager.Hex())
	case p.ChainID == nil && p.Manager == nil:
		a.r.skip(CheckReplay, "policy pins no chain or manager")
	default:
		a.r.pass(CheckReplay, fmt.Sprintf("chain %s, manager %s", rc.ChainID, rc.Manager.Hex()))
	}
}

// jobID recomputes the job id from the request under the manager's domain: a receipt cannot
// name one job and carry another's request.
func (a *audit) jobID() {
	want := a.rc.Domain().JobID(a.rc.Request.Request)
	if want.Cmp(a.rc.JobID.Big()) != 0 {
		a.r.failf(CheckJobID, ErrJobID, "jobId %s, the request's digest under chain %s and manager %s is %s",
			a.rc.JobID, a.rc.ChainID, a.rc.Manager.Hex(), want)
		return
	}
	a.r.pass(CheckJobID, "EIP-712 digest of the request")
}

// job parses the job file strictly and binds it to the request (settlement.md §8): its digest
// is request.jobDigest (public input 1), its model root and token count the request's. With
// the auditor's model it also checks that the model accepts the job.
func (a *audit) job() {
	rc := a.rc
	modelRoot, jobDigest := receipt.MustWord(rc.Request.ModelRoot), receipt.MustWord(rc.Request.JobDigest)
	j, err := jobs.ParseJob(rc.Job)
	if err != nil {
		a.r.fail(CheckJob, ErrJob, err)
		return
	}
	a.genJob = j
	d, err := j.Digest()
	if err != nil {
		a.r.fail(CheckJob, ErrJob, err)
		return
	}
	switch {
	case word(d) != jobDigest:
		a.r.failf(CheckJob, ErrJob, "job file digests to %s, request.jobDigest is %s", word(d), jobDigest)
		return
	case word(j.ModelRoot) != modelRoot:
		a.r.failf(CheckJob, ErrJob, "job file names model %s, request.modelRoot is %s", word(j.ModelRoot), modelRoot)
		return
	case j.New != int(rc.Request.NewTokens):
		a.r.failf(CheckJob, ErrJob, "job file asks for %d tokens, request.newTokens is %d", j.New, rc.Request.NewTokens)
		return
	case j.Hardware != nil && !saltCommits(j, rc.Request.Salt):
		a.r.failf(CheckJob, ErrJob, "job file requires hardware %s that request.salt %s does not commit to", hardwareJSON(j.Hardware), rc.Request.Salt)
		return
	}
	detail := fmt.Sprintf("%d prompt tokens + %d new, digest is request.jobDigest", len(j.Prompt), j.New)
	if m := a.opts.Model; m != nil {
		root, err := m.Root()
		if err != nil {
			a.r.fail(CheckJob, ErrJob, fmt.Errorf("the auditor's model: %w", err))
			return
		}
		if word(root) == modelRoot {
			if _, err := j.Check(m); err != nil {
				a.r.fail(CheckJob, ErrJob, fmt.Errorf("the model refuses the job: %w", err))
				return
			}
			a.m = m
			detail += "; the model accepts it"
		} else {
			detail += fmt.Sprintf("; the given model's root is %s, not the request's (not used)", word(root))
		}
	}
	a.r.pass(CheckJob, detail)
}

// class binds the receipt's class to the request's classId and to a class the policy accepts
// under that name, with the same identifier and slots.
func (a *audit) class() {
	rc := a.rc
	c, ok := a.policy.class(rc.Class.Name)
	switch {
	case rc.Class.ID != receipt.Word(rc.Request.ClassID):
		a.r.failf(CheckClass, ErrClass, "class.id %s, request.classId is %s", rc.Class.ID, receipt.Word(rc.Request.ClassID))
		return
	case !ok:
		a.r.failf(CheckClass, ErrClass, "the policy accepts no class named %q", rc.Class.Name)
		return
	case receipt.Word(c.Class.ID()) != rc.Class.ID:
		a.r.failf(CheckClass, ErrClass, "class.id %s, the accepted class %s has %s", rc.Class.ID, c.Class, receipt.Word(c.Class.ID()))
		return
	case !slices.Equal(c.Class.Slots[1:], rc.Class.Slots):
		a.r.failf(CheckClass, ErrClass, "class.slots %v, the accepted class %s has %v", rc.Class.Slots, c.Class, c.Class.Slots[1:])
		return
	}
	if a.m != nil && a.genJob != nil {
		if err := c.Class.Fits(a.m, a.genJob.Rows(), a.genJob); err != nil {
			a.r.fail(CheckClass, ErrClass, fmt.Errorf("the job does not fit the class: %w", err))
			return
		}
	}
	a.cl = &c
	a.r.pass(CheckClass, c.Class.String())
}

// seed recomputes the seed from the commitment and the chain data of settlement.md §4, and
// checks the secret against the request's seed commitment. Whether seed.blockHash is the
// chain's is for the on-chain check.
func (a *audit) seed() {
	rc := a.rc
	s := rc.Seed
	var zero receipt.Word
	seedCommitment := receipt.Word(rc.Request.SeedCommitment)
	switch {
	case s.Secret != zero && seedCommitment == zero:
		a.r.failf(CheckSeed, ErrSeed, "seed.secret is set but the request has no seed commitment")
		return
	case s.Secret != zero && receipt.Word(protocol.SeedCommitment(s.Secret)) != seedCommitment:
		a.r.failf(CheckSeed, ErrSeed, "seed.secret does not open request.seedCommitment")
		return
	}
	want := protocol.SeedV2(rc.ChainID.Big(), rc.Manager, rc.JobID.Big(), rc.Commitment(), s.BlockHash, s.Secret)
	if receipt.MustWord(want) != s.Value {
		a.r.failf(CheckSeed, ErrSeed, "seed.value %s, SeedV2 of the commitment, block %d's hash and the secret is %s",
			s.Value, s.Block, receipt.MustWord(want))
		return
	}
	how := "the buyer's revealed secret"
	switch {
	case seedCommitment == zero:
		how = "no seed commitment: only as good as the builder of the seed block"
	case s.Secret == zero:
		how = "the buyer did not reveal: fallback seed with a zero secret"
	}
	a.r.pass(CheckSeed, fmt.Sprintf("SeedV2 over the commitment, block %d (hash unconfirmed offline), %s", s.Block, how))
}

// result checks the tokens against their digest (public input 3) and the request's count.
func (a *audit) result() {
	rc := a.rc
	if n := len(rc.Result.Tokens); n != int(rc.Request.NewTokens) {
		a.r.failf(CheckResult, ErrResult, "%d tokens, request.newTokens is %d", n, rc.Request.NewTokens)
		return
	}
	d, err := jobs.ResultDigest(int32s(rc.Result.Tokens))
	if err != nil {
		a.r.fail(CheckResult, ErrResult, err)
		return
	}
	if word(d) != rc.Result.Digest {
		a.r.failf(CheckResult, ErrResult, "tokens digest to %s, result.digest is %s", word(d), rc.Result.Digest)
		return
	}
	a.r.pass(CheckResult, fmt.Sprintf("%d tokens, result digest recomputed", len(rc.Result.Tokens)))
}

// proof verifies the Groth16 proof against the accepted class's key and the five public inputs
// rebuilt from the receipt's fields, as the manager rebuilds them from its own state.
func (a *audit) proof(ctx context.Context) {
	if a.cl == nil {
		a.r.fail(CheckProof, ErrNoKey, errNoClass)
		return
	}
	vk, from, err := a.keyOf(ctx, a.cl)
	if err != nil {
		a.r.fail(CheckProof, ErrNoKey, err)
		return
	}
	p, err := DecodeProof(a.rc.Proof)
	if err != nil {
		a.r.fail(CheckProof, ErrProof, err)
		return
	}
	var pub [5]fr.Element
	for i, x := range a.rc.PublicInputs() {
		if pub[i], err = commit.FromBig(x); err != nil {
			a.r.fail(CheckProof, ErrProof, fmt.Errorf("public input %d: %w", i, err))
			return
		}
	}
	if err := universal.Verify(vk, p, pub); err != nil {
		a.r.fail(CheckProof, ErrProof, err)
		return
	}
	a.r.pass(CheckProof, "Groth16 (gnark, BN254) against "+a.cl.Class.Name+"'s key ("+from+") and [modelRoot, jobDigest, traceRoot, result digest, seed]")
}

// familyIndex maps a Bound's family name to its slot family (circuit.md §2).
func familyIndex(name string) (int, bool) {
	switch name {
	case "input":
		return universal.FamilyInput, true
	case "select":
		return universal.FamilySelect, true
	}
	for k := 1; k <= model.NumKinds; k++ {
		if model.Kind(k).String() == name {
			return k, true
		}
	}
	return 0, false
}

// detection recomputes the bounds with Class.Bounds when the auditor has the model, else
// checks only that each stated family's slots are the class's; the policy's minimums apply.
func (a *audit) detection() {
	rc, p := a.rc, a.policy
	if a.cl == nil {
		a.r.fail(CheckDetection, ErrDetection, errNoClass)
		return
	}
	cl := a.cl.Class
	for i, b := range rc.Detection {
		f, ok := familyIndex(b.Family)
		switch {
		case !ok:
			a.r.failf(CheckDetection, ErrDetection, "detection[%d]: no family %q", i, b.Family)
			return
		case b.Slots != cl.Slots[f]:
			a.r.failf(CheckDetection, ErrDetection, "detection[%d] (%s): %d slots, the class has %d", i, b.Family, b.Slots, cl.Slots[f])
			return
		case b.Slots < p.MinSlots:
			a.r.failf(CheckDetection, ErrPolicy, "%s has %d slots, the policy requires %d", b.Family, b.Slots, p.MinSlots)
			return
		}
	}
	if a.m == nil || a.genJob == nil {
		if p.MinInstance > 0 {
			a.r.failf(CheckDetection, ErrPolicy, "the policy requires detection >= %v, which needs the model (root %s) to recompute", p.MinInstance, receipt.MustWord(rc.Request.ModelRoot))
			return
		}
		a.r.skip(CheckDetection, fmt.Sprintf("not recomputed: no model whose root is %s (slots match the class)", receipt.MustWord(rc.Request.ModelRoot)))
		return
	}
	bounds, err := cl.Bounds(a.m, a.genJob.Rows(), a.genJob.New)
	if err != nil {
		a.r.fail(CheckDetection, ErrDetection, err)
		return
	}
	want := receipt.DetectionOf(bounds)
	if !slices.Equal(want, rc.Detection) {
		a.r.failf(CheckDetection, ErrDetection, "stated %+v, the model and job give %+v", rc.Detection, want)
		return
	}
	least := 1.0
	for _, b := range want {
		least = min(least, b.Instance)
		if b.Instance < p.MinInstance {
			a.r.failf(CheckDetection, ErrPolicy, "%s: a falsified unit is caught with p = %.4f, the policy requires %v", b.Family, b.Instance, p.MinInstance)
			return
		}
	}
	a.r.pass(CheckDetection, fmt.Sprintf("recomputed from the model: %d families, a falsified unit caught with p >= %.4f", len(want), least))
}

func (a *audit) signature() {
	if err := a.rc.VerifySignature(); err != nil {
		a.r.fail(CheckSignature, ErrSignature, err)
		return
	}
	a.r.pass(CheckSignature, "EIP-712 Receipt, signed by node key "+a.rc.NodeKey.Hex())
}

func word(e fr.Element) receipt.Word { return receipt.MustWord(commit.ToBig(e)) }

func int32s(ts []uint32) []int32 {
	out := make([]int32, len(ts))
	for i, t := range ts {
		out[i] = int32(t) // Validate bounds tokens below 2^24
	}
	return out
}

// saltCommits says whether the request's salt commits to the job file's hardware requirement
// (jobs.Hardware.Salt); a provider cannot swap the buyer's requirement for one it meets.
func saltCommits(j *jobs.GenJob, salt *big.Int) bool {
	want, err := j.Hardware.Salt(j.HardwareNonce)
	return err == nil && salt != nil && want.Cmp(salt) == 0
}

func hardwareJSON(h *jobs.Hardware) string {
	b, _ := h.Canonical()
	return string(b)
}
