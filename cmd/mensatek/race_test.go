//go:build race

package main

// raceEnabled: the race detector multiplies memory and time, so measurements skip.
const raceEnabled = true
