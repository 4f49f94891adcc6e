import java.math.BigDecimal;
import java.sql.*;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

/** Statements with one parameter bound by each pgjdbc setter; prints one line per case:
 *  its name, then the result columns' type names and values, or the SQLSTATE. */
public class JdbcParameterTypes {
    interface Setter { void set(PreparedStatement ps) throws SQLException; }

    static void run(Connection conn, String name, String sql, Setter setter) {
        StringBuilder out = new StringBuilder(name).append(" |");
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            setter.set(ps);
            try (ResultSet rs = ps.executeQuery()) {
                ResultSetMetaData md = rs.getMetaData();
                for (int i = 1; i <= md.getColumnCount(); i++)
                    out.append(' ').append(md.getColumnTypeName(i));
                while (rs.next())
                    for (int i = 1; i <= md.getColumnCount(); i++)
                        out.append(" | ").append(rs.getString(i));
            }
        } catch (SQLException e) {
            out.append(" error ").append(e.getSQLState());
        }
        System.out.println(out);
    }

    public static void main(String[] args) throws Exception {
        try (Connection conn = DriverManager.getConnection(args[0])) {
            run(conn, "setInt chr", "select chr(?)", ps -> ps.setInt(1, 65));
            run(conn, "setInt plus", "select ? + 1", ps -> ps.setInt(1, 5));
            run(conn, "setInt repeat", "select repeat('ab', ?)", ps -> ps.setInt(1, 3));
            run(conn, "setInt lpad", "select lpad('x', ?, '-')", ps -> ps.setInt(1, 4));
            run(conn, "setInt make_date", "select make_date(?, 2, 3)", ps -> ps.setInt(1, 2024));
            run(conn, "setShort plus", "select ? + 1", ps -> ps.setShort(1, (short) 5));
            run(conn, "setShort left", "select left('abcdef', ?)", ps -> ps.setShort(1, (short) 2));
            run(conn, "setLong plus", "select ? + 1", ps -> ps.setLong(1, 7000000000L));
            run(conn, "setLong series", "select * from generate_series(1, ?)", ps -> ps.setLong(1, 3L));
            run(conn, "setBigDecimal plus", "select ? + 1", ps -> ps.setBigDecimal(1, new BigDecimal("1.25")));
            run(conn, "setString concat", "select ? || 'x'", ps -> ps.setString(1, "a"));
            run(conn, "setString upper", "select upper(?)", ps -> ps.setString(1, "abc"));
            run(conn, "setBoolean not", "select not ?", ps -> ps.setBoolean(1, true));
            run(conn, "setDate plus", "select ? + 3", ps -> ps.setDate(1, Date.valueOf("2024-01-02")));
            run(conn, "setTimestamp trunc", "select date_trunc('day', ?)",
                ps -> ps.setTimestamp(1, Timestamp.valueOf("2024-01-02 03:04:05")));
            run(conn, "setObject OffsetDateTime", "select ? + interval '1 hour'",
                ps -> ps.setObject(1, OffsetDateTime.of(2024, 1, 2, 3, 4, 5, 0, ZoneOffset.UTC)));
            run(conn, "setBytes octet_length", "select octet_length(?)", ps -> ps.setBytes(1, new byte[] {1, 2, 3}));
            run(conn, "setBytes get_byte", "select get_byte(?, 1)", ps -> ps.setBytes(1, new byte[] {1, 2, 3}));
            run(conn, "setFloat times", "select ? * 2", ps -> ps.setFloat(1, 1.5f));
            run(conn, "setDouble times", "select ? * 2", ps -> ps.setDouble(1, 1.5));
            run(conn, "setInt compare", "select ? < 3", ps -> ps.setInt(1, 2));
        }
    }
}
