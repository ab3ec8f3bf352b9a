package store

// Arm is one Beta-Bernoulli arm: the posterior is Beta(Alpha, Beta).
type Arm struct {
	Alpha float64 `json:"alpha"`
	Beta  float64 `json:"beta"`
	Pulls int     `json:"pulls"`
	Wins  int     `json:"wins"`
}

// Mean is the posterior mean.
func (a Arm) Mean() float64 { return a.Alpha / (a.Alpha + a.Beta) }
