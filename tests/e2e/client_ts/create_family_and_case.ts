// A partner agency's program, type-checked against the types openapi-typescript
// generates from the live /v1/openapi.json (tests/e2e/test_17_contract_client.py
// writes them beside it as api.d.ts): it registers a family and opens a case
// with every field the API requires and no other.
import type { components, paths } from "./api";

type Schemas = components["schemas"];
type Json = "application/json; charset=utf-8";

const authorityId = "0f8d7a6c-3b2e-4f1a-9c8d-7e6f5a4b3c2d";

export const family: paths["/v1/families"]["post"]["requestBody"]["content"][Json] = {
  authorityId,
  parents: [{ givenName: "Amina", familyName: "Yusuf", hasParentalResponsibility: true }],
  children: [{ givenName: "Sami", familyName: "Yusuf", dateOfBirth: "2016-03-14" }],
};

// What the answer holds for sure: a reply's always-present fields are not optional.
export function caseFor(created: Schemas["Family"]): Schemas["CreateCaseRequest"] {
  const child: Schemas["Child"] = created.children[0];
  return {
    authorityId: created.authorityId,
    familyId: created.id,
    childId: child.id,
    source: "school",
    needs: ["supporter"],
    consent: { lawfulBasis: "public_task" }, // CONSENT: the test drops this line
  };
}

export const opened: paths["/v1/cases"]["post"]["requestBody"]["content"][Json] = caseFor({
  id: "2d19048c-2d37-5f02-a3d3-2512fd7a7744",
  authorityId,
  parents: [],
  children: [{ id: "395e8055-c9f9-5502-b022-57d486839014", givenName: "Sami", familyName: "Yusuf",
               dateOfBirth: "2016-03-14", needs: [] }],
  version: 1,
  createdAt: "2024-01-22T10:15:00Z",
  updatedAt: "2024-01-22T10:15:00Z",
});
