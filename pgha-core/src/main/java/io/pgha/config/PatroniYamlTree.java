package io.pgha.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A YAML document read into a tree whose every node remembers where it came from (the line of
 * its key in the file, or the environment variable that set it), so that a problem found later
 * can name its line. Jackson's streaming YAML parser gives the locations; a databind tree would
 * lose them. Not thread-safe; used once per load.
 */
final class PatroniYamlTree {

    /** A mapping (LinkedHashMap of Node), a sequence (List of Node) or a scalar, and its origin. */
    static final class Node {
        Object value;
        String origin;

        Node(Object value, String origin) {
            this.value = value;
            this.origin = origin;
        }

        @SuppressWarnings("unchecked")
        Map<String, Node> map() {
            return value instanceof Map ? (Map<String, Node>) value : null;
        }

        @SuppressWarnings("unchecked")
        List<Node> list() {
            return value instanceof List ? (List<Node>) value : null;
        }

        boolean isScalar() {
            return !(value instanceof Map) && !(value instanceof List);
        }

        /** A plain Java value: LinkedHashMap, ArrayList, String, Number, Boolean or null. */
        Object plain() {
            if (value instanceof Map) {
                Map<String, Object> out = new LinkedHashMap<>();
                map().forEach((k, v) -> out.put(k, v.plain()));
                return out;
            }
            if (value instanceof List) {
                List<Object> out = new ArrayList<>();
                list().forEach(v -> out.add(v.plain()));
                return out;
            }
            return value;
        }
    }

    /** The largest document read: a Patroni file is a few kilobytes. */
    static final int MAX_CHARS = 1 << 20;

    /** How deep mappings and lists may nest: Patroni's deepest key is five levels down. */
    static final int MAX_DEPTH = 64;

    private static final YAMLFactory YAML = yamlFactory();

    /**
     * snakeyaml's and Jackson's limits set for a small configuration file: no document over
     * {@link #MAX_CHARS}, no nesting over {@link #MAX_DEPTH}, no number over 100 digits, few
     * aliases (Jackson's streaming parser never expands them: an alias reads as its anchor's name,
     * so "billion laughs" stays small either way).
     */
    private static YAMLFactory yamlFactory() {
        org.yaml.snakeyaml.LoaderOptions loader = new org.yaml.snakeyaml.LoaderOptions();
        loader.setCodePointLimit(MAX_CHARS);
        loader.setNestingDepthLimit(MAX_DEPTH);
        loader.setMaxAliasesForCollections(50);
        loader.setAllowRecursiveKeys(false);
        YAMLFactory f = YAMLFactory.builder()
                .loaderOptions(loader)
                // the builder starts without the parser's default features: an empty value (authentication:) is null,
                // as with new YAMLFactory()
                .enable(com.fasterxml.jackson.dataformat.yaml.YAMLParser.Feature.EMPTY_STRING_AS_NULL)
                .streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder()
                        .maxNestingDepth(MAX_DEPTH)
                        .maxNumberLength(100)
                        .maxStringLength(MAX_CHARS)
                        .maxDocumentLength(MAX_CHARS)
                        .build())
                .build();
        return f;
    }

    private PatroniYamlTree() {}

    /**
     * Parses a document whose top level must be a mapping; an empty document is an empty mapping.
     *
     * @param problems receives syntax problems and duplicate keys, each with its line
     */
    static Node parse(String text, List<String> problems) {
        if (text.length() > MAX_CHARS) {
            problems.add("the file has " + text.length() + " characters, more than " + MAX_CHARS
                    + " (a Patroni configuration is a few kilobytes)");
            return null;
        }
        try (JsonParser p = YAML.createParser(text)) {
            JsonToken first = p.nextToken();
            if (first == null) {
                return new Node(new LinkedHashMap<String, Node>(), "line 1");
            }
            if (first != JsonToken.START_OBJECT) {
                problems.add("the top level must be a mapping of keys (scope, name, postgresql, ...), found "
                        + describe(first) + " (line " + line(p.currentTokenLocation()) + ")");
                return null;
            }
            return read(p, "", "line 1", problems);
        } catch (IOException | RuntimeException e) {
            // snakeyaml's own limits (YAMLException, a RuntimeException) as well as Jackson's
            JsonLocation loc =
                    e instanceof com.fasterxml.jackson.core.JsonProcessingException jpe ? jpe.getLocation() : null;
            String msg = e.getMessage() == null ? e.toString() : e.getMessage().split("\n", 2)[0];
            problems.add("not valid YAML" + (loc == null ? "" : " (line " + line(loc) + ")") + ": " + msg);
            return null;
        }
    }

    private static Node read(JsonParser p, String path, String origin, List<String> problems) throws IOException {
        JsonToken t = p.currentToken();
        switch (t) {
            case START_OBJECT -> {
                Map<String, Node> map = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String key = p.currentName();
                    String keyOrigin = "line " + line(p.currentTokenLocation());
                    p.nextToken();
                    String childPath = path.isEmpty() ? key : path + "." + key;
                    Node child = read(p, childPath, keyOrigin, problems);
                    Node previous = map.put(key, child);
                    if (previous != null) {
                        problems.add(
                                childPath + " appears twice (" + previous.origin + " and " + keyOrigin + "); keep one");
                    }
                }
                return new Node(map, origin);
            }
            case START_ARRAY -> {
                List<Node> list = new ArrayList<>();
                int i = 0;
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    list.add(read(p, path + "[" + i++ + "]", "line " + line(p.currentTokenLocation()), problems));
                }
                return new Node(list, origin);
            }
            case VALUE_STRING -> {
                return new Node(p.getText(), origin);
            }
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
                return new Node(p.getNumberValue(), origin);
            }
            case VALUE_TRUE -> {
                return new Node(true, origin);
            }
            case VALUE_FALSE -> {
                return new Node(false, origin);
            }
            case VALUE_NULL -> {
                return new Node(null, origin);
            }
            default -> {
                // binary (!!binary) and other embedded objects have no place in a Patroni file
                problems.add(path + " has an unsupported YAML value (" + origin + ")");
                return new Node(p.getText(), origin);
            }
        }
    }

    static String describe(JsonToken t) {
        return switch (t) {
            case START_OBJECT -> "a mapping";
            case START_ARRAY -> "a list";
            default -> "a single value";
        };
    }

    static String describe(Node n) {
        if (n.value instanceof Map) {
            return "a mapping";
        }
        if (n.value instanceof List) {
            return "a list";
        }
        if (n.value == null) {
            return "an empty value";
        }
        if (n.value instanceof Boolean) {
            return "the boolean " + n.value;
        }
        if (n.value instanceof Number) {
            return "the number " + n.value;
        }
        return "a string";
    }

    private static int line(JsonLocation loc) {
        return loc == null ? 0 : loc.getLineNr();
    }
}
