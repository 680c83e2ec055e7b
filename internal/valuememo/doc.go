// Package valuememo remembers, for recently seen secret values (API keys,
// bearer tokens), the result of a pure function of them (their digest),
// so that a caller seen before does not pay for the function again.
//
// A Table is fixed in size whatever is sent: one entry per slot, which a
// new entry replaces, and its values' bytes within a budget. Slots are
// chosen with a seed unknown outside the process and values compared in
// constant time, so that neither its size nor its timing tells anything
// about the values it holds. It holds those values
// in memory, as the calls carrying them did. What a caller puts in it is
// its decision: the users here put only values whose lookup succeeded, so
// that a flood of random values never enters it.
package valuememo
