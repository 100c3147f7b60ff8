/* sen_type — the DfE's primary types of SEN (parley.common.v1.SenType) read
 * from free text: what a need given as plain words ("autism", "speech and
 * language", "Dyslexia") is coded as. Intake codes a need sent in the old
 * plain-string form with it, and matching an old event's needs; the
 * migrations that coded stored text (intake 014, matching 009) hold the same
 * rules in SQL (sen_type_of_text), and tests/e2e/test_68_needs_migration.py
 * checks that the two agree. Pure: no allocation, no state. */
#ifndef PARLEY_SVC_SEN_TYPE_H
#define PARLEY_SVC_SEN_TYPE_H

#include "parley/common/v1/needs.pb-c.h"

/* The type the words of text name: the first rule that matches, in this
 * order, reading text case-insensitively (only its first 255 bytes):
 *   a whole word that is a code, or the code in a proto name ("ASD",
 *   "spld", "SEN_TYPE_HI"), and the whole words asc (asd), adhd
 *   (semh), salt (slcn), deaf (hi), blind (vi);
 *   then words found anywhere: multi-sensory, deafblind (msi); profound
 *   (pmld); severe learning (sld); moderate learning (mld); dyslexi,
 *   dyspraxi, dyscalculi, specific learning (spld); autis, asperger (asd);
 *   speech, language, communication, stammer (slcn); hearing, deaf (hi);
 *   vision, visual, sight, blind (vi); emotional, mental health, anxiety,
 *   behaviour, behavior, attachment, attention deficit, hyperactiv (semh);
 *   physical, mobility, cerebral palsy, wheelchair (pd); learning, down
 *   syndrome, developmental delay (mld);
 *   else OTH. NULL or "" is OTH too. */
Parley__Common__V1__SenType sen_type_of_text(const char *text);

/* The DfE's spelling of a code ("SpLD", "ASD"), or NULL for 0 and unknown
 * values; and its name as the DfE defines it ("autistic spectrum disorder"). */
const char *sen_type_code(int type);
const char *sen_type_name(int type);

#endif
