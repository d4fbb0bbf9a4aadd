package campaign

// firstRows remembers the first row of each valid phone, to find duplicates, in about 16 bytes
// a row and without pointers for the garbage collector to scan (a Go map of the same takes 38
// bytes an entry, and as much again in garbage as it grows): the phone of each row, as a number,
// in a slice indexed by row, and an open-addressing table of row numbers keyed by phone.
type firstRows struct {
	phones []uint64 // by row; 0 for none
	slots  []uint32 // row numbers; 0 for an empty slot
	n      int
}

// add records phone (not 0) in row, unless an earlier row has it: it returns that row, or row.
func (f *firstRows) add(phone uint64, row int) int {
	if (f.n+1)*4 > len(f.slots)*3 {
		f.grow()
	}
	mask := uint64(len(f.slots) - 1)
	for i := hashPhone(phone) & mask; ; i = (i + 1) & mask {
		r := f.slots[i]
		switch {
		case r == 0:
			f.slots[i] = uint32(row)
			for len(f.phones) <= row {
				f.phones = append(f.phones, 0)
			}
			f.phones[row] = phone
			f.n++
			return row
		case f.phones[r] == phone:
			return int(r)
		}
	}
}

func (f *firstRows) grow() {
	old := f.slots
	f.slots = make([]uint32, max(1024, 2*len(old)))
	mask := uint64(len(f.slots) - 1)
	for _, r := range old {
		if r == 0 {
			continue
		}
		i := hashPhone(f.phones[r]) & mask
		for f.slots[i] != 0 {
			i = (i + 1) & mask
		}
		f.slots[i] = r
	}
}

// hashPhone spreads phones, which are mostly consecutive numbers, over the table.
func hashPhone(p uint64) uint64 {
	p ^= p >> 33
	p *= 0xff51afd7ed558ccd
	p ^= p >> 33
	return p
}
