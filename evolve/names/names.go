// Package names finds the name a user most likely meant: the "did you
// mean" of unknown configuration keys, strategies and environment
// variables.
package names

import "strings"

// Closest returns the option nearest to word by edit distance (case
// ignored), and false when none is near enough to be a typo: more than a
// third of the word's length, at least 2, away.
func Closest(word string, options []string) (string, bool) {
	w := strings.ToLower(word)
	best, bestD := "", -1
	for _, o := range options {
		d := distance(w, strings.ToLower(o))
		if bestD < 0 || d < bestD {
			best, bestD = o, d
		}
	}
	if bestD < 0 || bestD > max(2, len([]rune(word))/3) {
		return "", false
	}
	return best, true
}

// Hint is "; did you mean X?" for the closest option, or "".
func Hint(word string, options []string) string {
	if c, ok := Closest(word, options); ok && c != word {
		return "; did you mean " + c + "?"
	}
	return ""
}

// distance is the Levenshtein distance between a and b, in runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
