package ui

import "html/template"

// The template functions of the Automation page (package admin): a
// field's problem, and a waiting time's number and unit with theirs.

// fieldProblem is a field of the page's form and its problem ("" for
// none).
type fieldProblem struct {
	Field, Msg string
}

// waitField is a waiting time of the Automation page: KEY.after and
// KEY.unit, its problem under KEY.after_minutes.
type waitField struct {
	Key, Label, Msg string
	Form            map[string]string
}

func automationFuncs() template.FuncMap {
	return template.FuncMap{
		"autoErr": func(d PageData, field string) fieldProblem { return fieldProblem{Field: field, Msg: d.Fields[field]} },
		"autoWait": func(d PageData, key, label string) waitField {
			return waitField{Key: key, Label: label, Msg: d.Fields[key+".after_minutes"], Form: d.Form}
		},
	}
}
