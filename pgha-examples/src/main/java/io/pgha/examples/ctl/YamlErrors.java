package io.pgha.examples.ctl;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/** Says where and why a YAML text is broken, on one line: "at line 4, column 3: <problem> (<context>)". */
final class YamlErrors {
    private YamlErrors() {}

    static String describe(JsonProcessingException e) {
        // SnakeYAML knows where the problem is; Jackson's location may point at where the token began
        if (e.getCause() instanceof MarkedYAMLException m && m.getProblemMark() != null) {
            Mark at = m.getProblemMark();
            String why = m.getProblem() == null ? "" : m.getProblem();
            if (m.getContext() != null) {
                why += " (" + m.getContext() + ")";
            }
            return "at line " + (at.getLine() + 1) + ", column " + (at.getColumn() + 1) + ": "
                    + CtlException.oneLine(why);
        }
        JsonLocation at = e.getLocation();
        String why = e.getOriginalMessage() == null
                ? ""
                : e.getOriginalMessage().lines().findFirst().orElse("");
        return (at == null ? "" : "at line " + at.getLineNr() + ", column " + at.getColumnNr()) + ": " + why;
    }
}
