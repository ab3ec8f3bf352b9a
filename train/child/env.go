package child

import (
	"os"
	"strings"
)

// envAllow lists the variables untrusted children may see; everything else,
// and any name that looks like a credential, is dropped.
func envAllow() []string {
	return []string{
		"PATH", "HOME", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
		"PYTHONHASHSEED", "PYTHONPATH", "VIRTUAL_ENV", "LD_LIBRARY_PATH",
		"OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "CUBLAS_WORKSPACE_CONFIG",
	}
}

// envAllowPrefix admits families of thread and BLAS settings (OPENBLAS_CORETYPE
// keeps old OpenBLAS builds from computing wrong results on some CPUs).
func envAllowPrefix() []string { return []string{"OPENBLAS_", "OMP_", "MKL_", "NVIDIA_"} }

// SecretMarks are the parts of a name (upper case) that mark it as a
// credential.
func SecretMarks() []string {
	return []string{"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH"}
}

// IsSecret reports whether name looks like a credential (OPENAI_API_KEY,
// GITHUB_TOKEN, DB_PASSWORD, ...): such a variable never reaches a child.
func IsSecret(name string) bool {
	up := strings.ToUpper(name)
	for _, m := range SecretMarks() {
		if strings.Contains(up, m) {
			return true
		}
	}
	return false
}

// Passes reports whether the variable name reaches a child: it is on the
// allow-list and does not look like a credential.
func Passes(name string) bool { return allowed(name) && !IsSecret(name) }

func allowed(name string) bool {
	for _, a := range envAllow() {
		if name == a {
			return true
		}
	}
	for _, p := range envAllowPrefix() {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// Env returns this process's environment reduced to the allow-list, plus
// extra ("NAME=value", later entries win). Names that look
// like credentials (KEY, TOKEN, SECRET, PASSWORD, ...) are dropped even when
// allowed or passed in extra.
func Env(extra ...string) []string {
	vals := map[string]string{}
	var order []string
	set := func(kv string) {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || name == "" || IsSecret(name) {
			return
		}
		if _, seen := vals[name]; !seen {
			order = append(order, name)
		}
		vals[name] = val
	}
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); allowed(name) {
			set(kv)
		}
	}
	set("PYTHONUNBUFFERED=1")
	set("PYTHONDONTWRITEBYTECODE=1")
	for _, kv := range extra {
		set(kv)
	}
	env := make([]string, 0, len(order))
	for _, name := range order {
		env = append(env, name+"="+vals[name])
	}
	return env
}
