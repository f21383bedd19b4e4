// SPDX-License-Identifier: GPL-2.0
/* Just enough JSON to tell whether a stressor printed one valid object. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "selftest.h"

static const char *ws(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	return s;
}

static const char *value(const char *s);

static const char *string(const char *s)
{
	if (*s++ != '"')
		return NULL;
	for (; *s != '"'; s++) {
		if (!*s || (unsigned char)*s < 0x20)
			return NULL;
		if (*s != '\\')
			continue;
		s++;
		if (*s == 'u') {
			for (int i = 1; i <= 4; i++)
				if (!isxdigit((unsigned char)s[i]))
					return NULL;
			s += 4;
		} else if (!*s || !strchr("\"\\/bfnrt", *s)) {
			return NULL;
		}
	}
	return s + 1;
}

static const char *digits(const char *s)
{
	if (!isdigit((unsigned char)*s))
		return NULL;
	while (isdigit((unsigned char)*s))
		s++;
	return s;
}

static const char *number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (!(s = digits(s)))
		return NULL;
	if (*s == '.' && !(s = digits(s + 1)))
		return NULL;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		s = digits(s);
	}
	return s;
}

/* Object or array, @close being '}' or ']'. */
static const char *container(const char *s, char close)
{
	s = ws(s + 1);
	if (*s == close)
		return s + 1;
	for (;;) {
		if (close == '}') {
			if (!(s = string(s)))
				return NULL;
			s = ws(s);
			if (*s++ != ':')
				return NULL;
		}
		if (!(s = value(s)))
			return NULL;
		if (*s == close)
			return s + 1;
		if (*s++ != ',')
			return NULL;
	}
}

/* A value with the blanks around it. */
static const char *value(const char *s)
{
	static const char *const words[] = { "true", "false", "null" };
	unsigned int i;

	s = ws(s);
	if (*s == '{')
		s = container(s, '}');
	else if (*s == '[')
		s = container(s, ']');
	else if (*s == '"')
		s = string(s);
	else if (*s == '-' || isdigit((unsigned char)*s))
		s = number(s);
	else {
		for (i = 0; i < 3; i++)
			if (!strncmp(s, words[i], strlen(words[i])))
				break;
		s = i < 3 ? s + strlen(words[i]) : NULL;
	}
	return s ? ws(s) : NULL;
}

bool json_valid(const char *json)
{
	const char *end = value(json);

	return end && !*end;
}

bool json_member(const char *json, const char *key, char *val, size_t len)
{
	const char *s = ws(json), *k, *v;
	size_t klen = strlen(key), n;

	if (*s != '{')
		return false;
	s = ws(s + 1);
	while (*s == '"') {
		k = s;
		if (!(s = string(s)))
			return false;
		s = ws(s);
		if (*s++ != ':')
			return false;
		v = ws(s);
		if (!(s = value(s)))
			return false;
		if (!strncmp(k + 1, key, klen) && k[klen + 1] == '"') {
			/* value() took the blanks after the value too */
			n = s - v;
			while (n && strchr(" \t\n\r", v[n - 1]))
				n--;
			if (n >= len)
				return false;
			memcpy(val, v, n);
			val[n] = '\0';
			return true;
		}
		if (*s++ != ',')
			return false;
		s = ws(s);
	}
	return false;
}

bool st_member_is(const char *json, const char *key, const char *want)
{
	char val[512];

	if (!json_member(json, key, val, sizeof(val))) {
		st_diag("no member %s", key);
		return false;
	}
	if (strcmp(val, want)) {
		st_diag("%s is %s, want %s", key, val, want);
		return false;
	}
	return true;
}

bool st_clean_json(const struct st_proc *p, const char *stressor,
		   const char *const *keys)
{
	static const char *const zero[][2] = {
		{ "bad_rounds", "0" }, { "bad_pages", "0" },
		{ "first_bad_round", "null" },
		{ "time_to_first_detection_s", "null" },
		{ "verdict", "\"clean\"" },
	};
	static const char *const common[] = {
		"stressor", "pages", "seed", "rounds", "bad_rounds", "bad_pages",
		"classes", "first_bad_round", "time_to_first_detection_s",
		"stress_seconds", "verdict", NULL
	};
	const char *const *lists[] = { common, keys };
	char val[512], name[64];
	bool ok = json_valid(p->out) && p->out[0] == '{';
	unsigned int i, l;

	if (!ok)
		st_diag("not one JSON object: %s", p->out);
	for (l = 0; l < 2; l++)
		for (i = 0; lists[l][i]; i++)
			if (!json_member(p->out, lists[l][i], val, sizeof(val))) {
				st_diag("no member %s", lists[l][i]);
				ok = false;
			}
	for (i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
		ok &= st_member_is(p->out, zero[i][0], zero[i][1]);
	snprintf(name, sizeof(name), "\"%s\"", stressor);
	ok &= st_member_is(p->out, "stressor", name);
	ok &= st_member_is(p->out, "classes",
			   "{\"lost_write\":0,\"zero_fill\":0,\"foreign\":0,\"corrupt\":0}");
	return ok;
}
