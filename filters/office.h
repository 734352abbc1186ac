/*
 * office - macros in Office documents, as facts for the rules.
 *
 * Binary Office files (Word, Excel, PowerPoint 97-2003, Outlook .msg)
 * are OLE2 compound files; a VBA project shows in their directory. OOXML
 * files (.docm, .xlsm, .pptm ...) are zip packages; the caller lists
 * their members with archive_walk and asks about each name here. Nothing
 * is decompressed or run; the functions keep no state.
 */
#ifndef SEKISHO_OFFICE_H
#define SEKISHO_OFFICE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * office_ole_has_vba - is data an OLE2 compound file whose directory has
 * a "VBA", "Macros" or "_VBA_PROJECT_CUR" storage or a "_VBA_PROJECT"
 * stream (names compared without regard to case)? False for anything
 * else, malformed files included. See office.c for what it cannot see.
 */
bool office_ole_has_vba(const void *data, size_t len);

/*
 * office_ooxml_member_is_vba - is this OOXML member a VBA project: a name
 * whose last path segment is "vbaProject.bin", any case, any folder
 * (word/, xl/, ppt/, or one a crafted [Content_Types].xml points to)?
 */
bool office_ooxml_member_is_vba(const char *member_name);

/*
 * office_ooxml_member_is_activex - an ActiveX control's binary state
 * (".bin" in an "activeX" folder): no macro, but the classic carrier of
 * exploits for old controls (MSCOMCTL), so a fact of its own.
 */
bool office_ooxml_member_is_activex(const char *member_name);

/*
 * office_ooxml_member_is_xlm - an Excel 4.0 macro sheet (a member under
 * xl/macrosheets/ or xl/intlmacrosheets/): macros without VBA, which
 * office_ooxml_member_is_vba does not see.
 */
bool office_ooxml_member_is_xlm(const char *member_name);

#endif
