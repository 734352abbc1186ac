/*
 * rule_lexer - tokens of one rule-file line, with their columns.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "rules/rule_lexer.h"

static bool is_word_byte(unsigned char c)
{
	return c > ' ' && c != '(' && c != ')' && c != '[' && c != ']' && c != '"' &&
	       c != '=' && c != '!' && c != '<' && c != '>' && c != '#' && c != 0x7f;
}

static void push(struct token_list *list, enum token_kind kind, char *text, char *flags,
		 int line, int col)
{
	list->items = xrealloc(list->items, (list->count + 1) * sizeof(*list->items));
	list->items[list->count++] =
		(struct token){.kind = kind, .text = text, .flags = flags, .line = line, .col = col};
}

/* lex_string - "..." from p[*i]; the text unescaped */
static int lex_string(const char *p, size_t len, size_t *i, char **text_r,
		      const char **error_r)
{
	struct buf b;
	size_t j = *i + 1;

	buf_init(&b);
	for (; j < len && p[j] != '"'; j++) {
		if (p[j] == '\\' && j + 1 < len && (p[j + 1] == '"' || p[j + 1] == '\\'))
			j++;
		buf_append_char(&b, p[j]);
	}
	if (j >= len) {
		buf_free(&b);
		*error_r = "unterminated string: expected a closing \"";
		return -1;
	}
	*i = j + 1;
	*text_r = buf_steal(&b);
	return 0;
}

/* lex_regex - /pattern/flags; "\/" stands for a slash in the pattern */
static int lex_regex(const char *p, size_t len, size_t *i, char **text_r, char **flags_r,
		     const char **error_r)
{
	struct buf b;
	size_t j = *i + 1, f;

	buf_init(&b);
	for (; j < len && p[j] != '/'; j++) {
		if (p[j] == '\\' && j + 1 < len) {
			if (p[j + 1] != '/')
				buf_append_char(&b, '\\');
			j++;
		}
		buf_append_char(&b, p[j]);
	}
	if (j >= len) {
		buf_free(&b);
		*error_r = "unterminated regular expression: expected a closing /";
		return -1;
	}
	for (f = j + 1; f < len && strchr("imsxu", p[f]) && p[f]; f++)
		;
	if (f < len && is_word_byte((unsigned char)p[f])) {
		buf_free(&b);
		*i = f;
		*error_r = "unknown regular expression flag (expected i, m, s, x or u)";
		return -1;
	}
	*text_r = buf_steal(&b);
	*flags_r = xstrndup(p + j + 1, f - j - 1);
	*i = f;
	return 0;
}

static size_t op_len(const char *p, size_t len)
{
	static const char *const ops[] = {"==", "!=", "=~", "!~", ">=", "<=", ">", "<", "="};

	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		size_t n = strlen(ops[k]);
		if (len >= n && memcmp(p, ops[k], n) == 0)
			return n;
	}
	return 0;
}

int rule_lex_line(const char *p, size_t len, int lineno, struct token_list *list,
		  const char **error_r, int *col_r)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)p[i];
		size_t start = i, n;
		int col = (int)i + 1;
		char *text, *flags;
		bool after_match = list->count && list->items[list->count - 1].kind == TOK_OP &&
				   list->items[list->count - 1].line == lineno &&
				   (strcmp(list->items[list->count - 1].text, "=~") == 0 ||
				    strcmp(list->items[list->count - 1].text, "!~") == 0);

		if (c == ' ' || c == '\t' || c == '\r') {
			i++;
			continue;
		}
		if (c == '#')
			break;
		*col_r = col;
		if (c < ' ' || c == 0x7f) {
			*error_r = "control character in rule file";
			return -1;
		}
		if (c == '"') {
			if (lex_string(p, len, &i, &text, error_r) != 0)
				return -1;
			push(list, TOK_STRING, text, NULL, lineno, col);
		} else if (c == '/' && after_match) {
			if (lex_regex(p, len, &i, &text, &flags, error_r) != 0) {
				*col_r = (int)i + 1;
				return -1;
			}
			push(list, TOK_REGEX, text, flags, lineno, col);
		} else if (strchr("()[]", (char)c)) {
			enum token_kind k = c == '(' ? TOK_LPAREN : c == ')' ? TOK_RPAREN
					    : c == '[' ? TOK_LBRACKET : TOK_RBRACKET;
			push(list, k, xstrndup(p + i, 1), NULL, lineno, col);
			i++;
		} else if ((n = op_len(p + i, len - i)) != 0) {
			push(list, TOK_OP, xstrndup(p + i, n), NULL, lineno, col);
			i += n;
		} else if (is_word_byte(c)) {
			while (i < len && is_word_byte((unsigned char)p[i]))
				i++;
			push(list, TOK_WORD, xstrndup(p + start, i - start), NULL, lineno, col);
		} else {
			*error_r = "unexpected character";
			return -1;
		}
	}
	return 0;
}

void token_list_free(struct token_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		free(list->items[i].text);
		free(list->items[i].flags);
	}
	free(list->items);
	list->items = NULL;
	list->count = 0;
}
