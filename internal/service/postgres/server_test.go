package postgres

import "testing"

func TestHintForkTellsOnlyFreeSpaceAndVisibilityMaps(t *testing.T) {
	for rel, want := range map[string]bool{
		"base/5/1259_fsm": true, "base/16384/2619_vm": true, "global/1260_vm": true,
		"base/5/1259": false, "base/5/1259.1": false, "base/5/1259_init": false, "base/5/1259_fsm.1": false,
		"global/pg_control": false, "pg_wal/000000010000000000000001": false, "base/5/_vm": false,
		"base/5/pg_filenode.map": false, "base/5/x1_fsm": false, "base/5/1259_vm_fsm": false,
	} {
		if got := hintFork(rel); got != want {
			t.Errorf("hintFork(%q) = %v; want %v", rel, got, want)
		}
	}
}
