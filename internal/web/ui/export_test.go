package ui

// HostileNext are the return paths TestSafeNext refuses, for the tests of
// every handler that takes one.
var HostileNext = hostileNext
