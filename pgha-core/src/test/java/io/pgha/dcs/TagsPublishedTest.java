package io.pgha.dcs;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TagsPublishedTest {
    @Test
    void booleanTagsArePublishedOnlyWhenTrueAsPatroniDoes() {
        Map<String, Object> tags = new LinkedHashMap<>();
        tags.put("nofailover", false);
        tags.put("noloadbalance", "false");
        tags.put("clonefrom", false);
        tags.put("nosync", true);
        tags.put("nostream", false);
        tags.put("new_tag", "new_value");
        tags.put("failover_priority", 0);
        assertThat(Tags.published(tags))
                .containsExactly(
                        Map.entry("nosync", true),
                        Map.entry("new_tag", "new_value"),
                        Map.entry("failover_priority", 0));
    }
}
