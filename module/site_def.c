// SPDX-License-Identifier: GPL-2.0
/*
 * The site definition language, in the style of kprobe_events
 * (Documentation/trace/kprobetrace.rst); docs/sites.md is its reference:
 *
 *   p:NAME SYMBOL[|SYMBOL...][+OFFS] [FIELD=VALUE ...] [# WINDOW]
 *   r:NAME SYMBOL[|SYMBOL...] [FIELD=VALUE ...] [# WINDOW]
 *
 *   caller=CALLER[,CALLER...]          CALLER is SYMBOL[|SYMBOL...]
 *   object=$argN:TYPE | $retval:TYPE   what the hit races on (extract.c)
 *   scope=SYMBOLS:$argN:TYPE           the inode, from an enclosing call
 *   overlap=SYMBOLS[:$argN:TYPE]       the competing path
 *   overlap_caller=CALLER[,CALLER...]
 *   key=ino                            rendezvous on the file, not the object
 *
 * "a|b" is one symbol spelled differently on different kernels: the first
 * that exists wins.  The built-in sites are written in it (site_table.c)
 * and debugfs' site_defs takes it at run time.  A definition is checked
 * as a whole here, before anything is registered; what only the running
 * kernel can tell (does the symbol exist) is sites.c's.
 */
#include <linux/ctype.h>
#include <linux/kallsyms.h>
#include <linux/kernel.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "mmrace.h"

#define MAX_ARG 6	/* arguments passed in registers on x86-64 */

static bool valid_symbol(const char *s)
{
	const char *p;

	if (!*s || strlen(s) >= KSYM_NAME_LEN)
		return false;
	for (p = s; *p; p++)
		if (!isalnum(*p) && *p != '_' && *p != '.')
			return false;
	return true;
}

/* "a|b|c" */
static int parse_alts(char *s, struct mmrace_alts *alts, const char **why)
{
	unsigned int n = 0;
	char *sym;

	while ((sym = strsep(&s, "|"))) {
		if (!valid_symbol(sym)) {
			*why = "bad symbol name";
			return -EINVAL;
		}
		if (n == MMRACE_MAX_ALTS) {
			*why = "too many alternatives for one symbol";
			return -EINVAL;
		}
		alts->sym[n++] = sym;
	}
	return 0;
}

/* "a|b,c" */
static int parse_callers(char *s, struct mmrace_alts *callers,
			 const char **why)
{
	unsigned int n = 0;
	char *group;
	int ret;

	while ((group = strsep(&s, ","))) {
		if (n == MMRACE_MAX_CALLERS) {
			*why = "too many callers";
			return -EINVAL;
		}
		ret = parse_alts(group, &callers[n++], why);
		if (ret)
			return ret;
	}
	return 0;
}

/* "$argN:TYPE" or "$retval:TYPE" */
static int parse_fetch(char *s, struct mmrace_fetch *f, const char **why)
{
	char *loc = strsep(&s, ":");

	*why = "a value is $argN:TYPE or $retval:TYPE";
	if (!s)
		return -EINVAL;
	if (!strcmp(loc, "$retval"))
		f->arg = 0;
	else if (strncmp(loc, "$arg", 4) || kstrtoint(loc + 4, 10, &f->arg) ||
		 f->arg < 1 || f->arg > MAX_ARG)
		return -EINVAL;
	f->type = mmrace_type_find(s);
	if (!f->type) {
		*why = "unknown type";
		return -EINVAL;
	}
	return 0;
}

/* "SYMBOL[|SYMBOL...][:$argN:TYPE]" */
static int parse_probe_fetch(char *s, struct mmrace_alts *symbol,
			     struct mmrace_fetch *f, const char **why)
{
	if (parse_alts(strsep(&s, ":"), symbol, why))
		return -EINVAL;
	if (!s)
		return 0;
	if (parse_fetch(s, f, why))
		return -EINVAL;
	if (!f->arg) {
		*why = "scope and overlap probes are at entry: no $retval";
		return -EINVAL;
	}
	return 0;
}

/* "name.point": the dot keeps it apart from the global debugfs files */
static bool valid_name(const char *s)
{
	const char *p;

	if (strlen(s) >= MMRACE_NAME_LEN || !strchr(s, '.') || *s == '.')
		return false;
	for (p = s; *p; p++)
		if (!isalnum(*p) && *p != '_' && *p != '.' && *p != '-')
			return false;
	return true;
}

/* SYMBOL[|SYMBOL...][+OFFS] */
static int parse_probe(char *s, struct mmrace_site_def *def,
		       const char **why)
{
	char *plus = strchr(s, '+');

	if (plus) {
		*plus = '\0';
		if (kstrtouint(plus + 1, 0, &def->offset)) {
			*why = "bad offset";
			return -EINVAL;
		}
		if (strchr(s, '|')) {
			*why = "an offset belongs to one symbol, not alternatives";
			return -EINVAL;
		}
	}
	return parse_alts(s, &def->probe, why);
}

static int parse_field(char *tok, struct mmrace_site_def *def,
		       unsigned int *seen, const char **why)
{
	static const char *const fields[] = {
		"caller", "object", "scope", "overlap", "overlap_caller", "key",
	};
	char *val = strchr(tok, '=');
	int f;

	if (!val) {
		*why = "expected FIELD=VALUE";
		return -EINVAL;
	}
	*val++ = '\0';
	f = match_string(fields, ARRAY_SIZE(fields), tok);
	if (f < 0) {
		*why = "unknown field";
		return -EINVAL;
	}
	if (*seen & BIT(f)) {
		*why = "field given twice";
		return -EINVAL;
	}
	*seen |= BIT(f);
	switch (f) {
	case 0:
		return parse_callers(val, def->callers, why);
	case 1:
		return parse_fetch(val, &def->object, why);
	case 2:
		return parse_probe_fetch(val, &def->scope_symbol, &def->scope,
					 why);
	case 3:
		return parse_probe_fetch(val, &def->overlap_symbol,
					 &def->overlap, why);
	case 4:
		return parse_callers(val, def->overlap_callers, why);
	default:
		*why = "the only key= is ino";
		def->key_ino = !strcmp(val, "ino");
		return def->key_ino ? 0 : -EINVAL;
	}
}

/* The rules between fields, once all are read. */
static int check(struct mmrace_site_def *def, const char **why)
{
	if (def->at_return && def->offset)
		*why = "r: probes a function's return: no offset";
	else if (def->offset && (def->callers[0].sym[0] || def->object.type))
		/*
		 * Past the first instruction the stack top is no return
		 * address and the argument registers may hold anything.
		 */
		*why = "an offset probe has no caller or arguments to read";
	else if (def->object.type && !def->object.arg && !def->at_return)
		*why = "$retval needs an r: probe";
	else if (def->scope.type && !(def->scope.type->filters & MMRACE_F_INO))
		*why = "scope= needs a type that gives an inode";
	else if (def->scope_symbol.sym[0] && !def->scope.type)
		*why = "scope= needs $argN:TYPE";
	else if (def->overlap_callers[0].sym[0] && !def->overlap_symbol.sym[0])
		*why = "overlap_caller= without overlap=";
	else if (def->key_ino && !def->scope.type &&
		 !(def->object.type &&
		   (def->object.type->filters & MMRACE_F_INO)))
		*why = "key=ino needs an object= or scope= that gives an inode";
	else
		return 0;
	return -EINVAL;
}

/*
 * Parse @text into @def, which must be zeroed; on error *@why says what
 * is wrong and nothing needs freeing.
 */
int mmrace_def_parse(const char *text, struct mmrace_site_def *def,
		     const char **why)
{
	unsigned int seen = 0;
	char *p, *tok, *hash;
	int ret = -EINVAL;

	for (p = (char *)text; *p; p++) {
		if (!isprint(*p) && *p != '\t') {
			*why = "one line of printable text";
			return -EINVAL;
		}
	}
	def->buf = kstrdup(text, GFP_KERNEL);
	if (!def->buf)
		return -ENOMEM;
	p = def->buf;
	hash = strchr(p, '#');
	def->window = "";
	if (hash) {
		*hash = '\0';
		def->window = strim(hash + 1);
	}

	*why = "expected p:NAME or r:NAME";
	do
		tok = strsep(&p, " \t");
	while (tok && !*tok);
	if (!tok || (strncmp(tok, "p:", 2) && strncmp(tok, "r:", 2)))
		goto out;
	def->at_return = tok[0] == 'r';
	*why = "a site name is NAME.POINT of letters, digits, '_', '-', '.'";
	if (!valid_name(tok + 2))
		goto out;
	strscpy(def->name, tok + 2, sizeof(def->name));

	*why = "expected the probe symbol";
	do
		tok = strsep(&p, " \t");
	while (tok && !*tok);
	if (!tok || parse_probe(tok, def, why))
		goto out;
	while ((tok = strsep(&p, " \t"))) {
		if (*tok && parse_field(tok, def, &seen, why))
			goto out;
	}
	ret = check(def, why);
	def->filters = (def->object.type ? def->object.type->filters : 0) |
		       (def->scope.type ? MMRACE_F_INO : 0) |
		       (def->key_ino ? MMRACE_F_KEY : 0);
out:
	if (ret)
		mmrace_def_free(def);
	return ret;
}

void mmrace_def_free(struct mmrace_site_def *def)
{
	kfree(def->buf);
	memset(def, 0, sizeof(*def));
}

static void show_alts(struct seq_file *m, const struct mmrace_alts *alts)
{
	unsigned int i;

	for (i = 0; i < MMRACE_MAX_ALTS && alts->sym[i]; i++)
		seq_printf(m, "%s%s", i ? "|" : "", alts->sym[i]);
}

static void show_callers(struct seq_file *m, const char *field,
			 const struct mmrace_alts *callers)
{
	unsigned int i;

	for (i = 0; i < MMRACE_MAX_CALLERS && callers[i].sym[0]; i++) {
		seq_printf(m, i ? "," : " %s=", field);
		show_alts(m, &callers[i]);
	}
}

static void show_fetch(struct seq_file *m, const char *prefix,
		       const struct mmrace_fetch *f)
{
	if (f->arg)
		seq_printf(m, "%s$arg%d:%s", prefix, f->arg, f->type->name);
	else
		seq_printf(m, "%s$retval:%s", prefix, f->type->name);
}

/* @def as one line of the language, which parses back to the same def. */
void mmrace_def_show(struct seq_file *m, const struct mmrace_site_def *def)
{
	seq_printf(m, "%c:%s ", def->at_return ? 'r' : 'p', def->name);
	show_alts(m, &def->probe);
	if (def->offset)
		seq_printf(m, "+%#x", def->offset);
	show_callers(m, "caller", def->callers);
	if (def->object.type)
		show_fetch(m, " object=", &def->object);
	if (def->scope_symbol.sym[0]) {
		seq_puts(m, " scope=");
		show_alts(m, &def->scope_symbol);
		show_fetch(m, ":", &def->scope);
	}
	if (def->overlap_symbol.sym[0]) {
		seq_puts(m, " overlap=");
		show_alts(m, &def->overlap_symbol);
		if (def->overlap.type)
			show_fetch(m, ":", &def->overlap);
	}
	show_callers(m, "overlap_caller", def->overlap_callers);
	if (def->key_ino)
		seq_puts(m, " key=ino");
	if (*def->window)
		seq_printf(m, " # %s", def->window);
	seq_putc(m, '\n');
}
