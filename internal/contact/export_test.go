package contact

// ListQuery is listQuery, for the tests of its plans.
var ListQuery = listQuery
