/*
 * rule_lexer - tokens of one rule-file line, with their columns.
 *
 * Rule files are line-oriented, so the lexer works a line at a time and
 * the parser joins the tokens of continuation lines. A "/" begins a
 * regular expression only right after =~ or !~; elsewhere it is part of a
 * word (10.0.0.0/8).
 */
#ifndef SEKISHO_RULE_LEXER_H
#define SEKISHO_RULE_LEXER_H

#include <stddef.h>

enum token_kind {
	TOK_WORD,	/* identifiers, numbers, networks, @lists, keywords */
	TOK_STRING,	/* "..." with \" and \\ escapes, text unescaped */
	TOK_REGEX,	/* /.../flags: text is the pattern, flags separate */
	TOK_OP,		/* == != =~ !~ >= <= > < = */
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_LBRACKET,
	TOK_RBRACKET,
};

struct token {
	enum token_kind kind;
	char *text;
	char *flags;	/* TOK_REGEX */
	int line;
	int col;	/* 1-based, in bytes */
};

struct token_list {
	struct token *items;
	size_t count;
};

/*
 * rule_lex_line - append the tokens of line (len bytes, no newline) to
 * list. A "#" outside a string or regex ends the line. Returns 0, or -1
 * with *error_r and *col_r set for the first bad byte.
 */
int rule_lex_line(const char *line, size_t len, int lineno, struct token_list *list,
		  const char **error_r, int *col_r);

void token_list_free(struct token_list *list);

#endif
